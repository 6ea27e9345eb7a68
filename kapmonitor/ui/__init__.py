"""The only package that imports PySide6 and pyqtgraph.

The Qt-free bedside core is imported first, before PySide6: once loaded, PySide6 reads the source
of every module imported after it (looking for `from __feature__ import`), which costs start-up
time for modules that never use Qt.
"""

import kapmonitor.bedside  # noqa: F401  (see above)
