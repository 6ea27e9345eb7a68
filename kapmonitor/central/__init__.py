"""The central station's model of every chair, fed by the MQTT broker (Qt-free)."""

from kapmonitor.central.model import CentralModel, ChairView, Reading

__all__ = ["CentralModel", "ChairView", "Reading"]
