"""The patient course: depression scores before, during and after the infusions, response and
remission, and the follow-ups that are due. Qt-free; the course view and its PDF read from here.

- `instruments`: BDI-II, PHQ-9 and MADRS (ranges, bands, item 9, LOINC codes);
- `outcomes`: the response, remission and relapse definitions (the only place they live);
- `schedule`: the follow-up schedule and its per-clinic settings;
- `store`: the clinic's course database (courses.db in the user data folder);
- `summary`, `fhir`, `deid`, `csv_io`: what `kapmonitor course show|export|import` produce and read.
"""
