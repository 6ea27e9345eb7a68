"""Publishing a chair to an MQTT broker for the central station (Qt-free)."""

from kapmonitor.publish.broker import BrokerConfig, BrokerConfigError, parse_broker_url
from kapmonitor.publish.publisher import MqttPublisher

__all__ = ["BrokerConfig", "BrokerConfigError", "MqttPublisher", "parse_broker_url"]
