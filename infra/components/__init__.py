"""One ComponentResource per capability; type tokens are ``mlops:<area>:<Name>``."""
