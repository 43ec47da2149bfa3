"""What CI needs besides `make` and `mlops`: the Checkov lock and config, the JUnit summary."""
