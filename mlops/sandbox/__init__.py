"""The local sandbox: a moto server on 127.0.0.1 that the platform is provisioned into."""
