"""In-memory fakes of the systems our connectors talk to, wired into `responses`."""
