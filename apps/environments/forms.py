"""The environment form. It only shapes input; the services hold every rule."""

from django import forms

from apps.environments.models import ExecutionEnvironment


class EnvironmentForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    image = forms.CharField(
        required=False, max_length=300, help_text="An image reference on the Docker engine, e.g. alpine:3.20."
    )
    dockerfile = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"}),
        help_text="Or an inline Dockerfile the platform builds (tagged by its content hash). Give one of the two.",
    )
    network = forms.ChoiceField(choices=ExecutionEnvironment.Network.choices, required=False)
    runtime = forms.ChoiceField(
        choices=ExecutionEnvironment.Runtime.choices,
        required=False,
        help_text="runsc runs every step under gVisor's kernel: a stronger wall, a slower start. "
        "The Docker engine must have it registered.",
    )
    memory_mb = forms.CharField(required=False, label="Memory (MiB)", help_text="16 to 65,536; empty means 256.")
    cpus = forms.CharField(required=False, label="CPUs", help_text="0.1 to 64; empty means 1.")
    pids_limit = forms.CharField(required=False, label="Process limit", help_text="8 to 32,768; empty means 128.")
    timeout_seconds = forms.CharField(
        required=False,
        label="Timeout (seconds)",
        help_text="1 to 86,400; empty means 3,600. Caps every block's own timeout.",
    )
    env = forms.CharField(
        required=False,
        label="Environment variables",
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}),
        help_text="One NAME=value per line. Not for secrets: attach credentials to blocks instead.",
    )
    is_default = forms.BooleanField(required=False, label="Default environment for runbooks that pick none")

    @staticmethod
    def initial_for(environment: ExecutionEnvironment) -> dict:
        return {
            "name": environment.name,
            "image": environment.image,
            "dockerfile": environment.dockerfile,
            "network": environment.network,
            "runtime": environment.runtime,
            "memory_mb": environment.memory_mb,
            "cpus": environment.cpus.normalize() if environment.cpus is not None else "",
            "pids_limit": environment.pids_limit,
            "timeout_seconds": environment.timeout_seconds,
            "env": "\n".join(f"{name}={value}" for name, value in (environment.env or {}).items()),
            "is_default": environment.is_default,
        }

    def clean_env(self) -> dict:
        variables: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data.get("env", "").splitlines(), start=1):
            if not line.strip():
                continue
            name, equals, value = line.partition("=")
            if not equals:
                raise forms.ValidationError(f"Line {number}: write NAME=value.")
            variables[name.strip()] = value
        return variables

    def service_input(self) -> dict:
        data = dict(self.cleaned_data)
        data["network"] = data.get("network") or "none"
        data["runtime"] = data.get("runtime") or "runc"
        defaults = {"memory_mb": 256, "cpus": 1, "pids_limit": 128, "timeout_seconds": 3600}
        for name, default in defaults.items():
            if data.get(name, "") == "":
                data[name] = default
        return data
