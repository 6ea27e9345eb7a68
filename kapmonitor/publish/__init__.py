"""Publishing a chair to an MQTT broker for the central station (Qt-free).

`MqttPublisher` is loaded on first use: checking a broker address or reading the publishing settings
(every start of `kapmonitor run`) does not load the MQTT client library.
"""

from typing import TYPE_CHECKING

from kapmonitor.publish.broker import BrokerConfig, BrokerConfigError, parse_broker_url

if TYPE_CHECKING:
    from kapmonitor.publish.publisher import MqttPublisher

__all__ = ["BrokerConfig", "BrokerConfigError", "MqttPublisher", "parse_broker_url"]


def __getattr__(name: str) -> object:
    if name == "MqttPublisher":
        from kapmonitor.publish.publisher import MqttPublisher

        return MqttPublisher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
