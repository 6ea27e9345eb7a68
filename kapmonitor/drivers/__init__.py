"""Monitor drivers: one module per protocol, registered by name and imported lazily."""

from kapmonitor.drivers.registry import available_drivers, create_driver, driver_class

__all__ = ["available_drivers", "create_driver", "driver_class"]
