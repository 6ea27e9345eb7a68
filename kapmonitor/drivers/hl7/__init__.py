"""HL7 v2 (IHE PCD-01 ORU^R01) over MLLP: monitors and gateways on the network."""
