"""The run lifecycle's services, one module per concern: start (and retry), decide (gates and
timers), cancel, lifecycle (what the engine and the reaper record). Pages, the API, automation and
commands all call these."""
