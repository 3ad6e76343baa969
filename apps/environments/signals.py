"""What environments tell the layers above them.

Builds run on a worker, but environments sits below executions, which owns the queues: a service
asks for a build by sending this after its transaction commits, and executions (connected in its
AppConfig.ready()) enqueues the job.
"""

from django.dispatch import Signal

# Sent with environment_id=<pk> once the row asking for the build is committed.
environment_build_requested = Signal()
