"""Day-2 operations through boto3: submit pipelines, register and promote models."""
