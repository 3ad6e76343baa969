"""The execution engine: claims a run, walks its steps through the block executors, records outcomes.

Invariants:
- The engine alone changes Execution/StepRun states; executors only return StepOutcomes.
- At most once: a step found `running` when a run is claimed or resumed belongs to a worker that
  died; it is never run again (the run ends `incomplete`, see apps.executions.services.lifecycle).
- A claimed run holds a lease renewed by a heartbeat thread; a worker that dies stops renewing,
  and the reaper marks the run `incomplete` instead of leaving it "running" forever.

Modules: run (the RQ jobs' entry points: claim, heartbeat, release), walk (the loop over the
steps and what each outcome does to the run), step (one executor call), credentials (what a
step may use), lease (the heartbeat and the cancel watch).
"""
