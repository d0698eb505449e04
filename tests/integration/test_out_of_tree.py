"""A driver built out of tree against the installed racktel package, loaded by the agent."""

import subprocess

from conftest import BUILD, SOURCE, Agent


def run(*args):
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_the_example_driver_builds_against_the_installed_package_and_runs(tmp_path, broker, collector):
    prefix = tmp_path / "prefix"
    run("cmake", "--install", BUILD, "--prefix", prefix)
    assert (prefix / "include" / "racktel" / "driver.h").exists()
    example = tmp_path / "example-build"
    run("cmake", "-S", SOURCE / "drivers" / "examples" / "controller", "-B", example, "-G", "Ninja",
        f"-DCMAKE_PREFIX_PATH={prefix}")
    run("cmake", "--build", example)
    module = example / "racktel-driver-controller.so"
    assert module.exists()

    c = collector()
    (tmp_path / "agent").mkdir()
    # Found by type in the driver directory, like an installed vendor module.
    agent = Agent(tmp_path / "agent", broker, """
[[drivers]]
name = "controller"
type = "controller"
interval = "500ms"
""", driver_dir=example).start()
    try:
        batches = c.wait_batches(2)
        driver = agent.status()["drivers"][0]
        assert driver["origin"] == str(module) and driver["lane"] == "shared", agent.log_text()
    finally:
        agent.stop()
    values = {k: (s, v) for _, rs in batches for _, k, s, v in rs}
    assert values["controller/mem_available"][0] == "ok"
    assert values["controller/mem_available"][1] > 1024 * 1024
    assert values["controller/load1"][0] == "ok"
