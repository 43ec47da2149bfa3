"""Run the Pulumi program without the Pulumi engine: recording mocks -> Plan."""
