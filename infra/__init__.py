"""The Pulumi program of mlops-platform: what gets deployed per environment."""
