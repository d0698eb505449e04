"""The technician's page in real headless Chromium: the rack drawn from the
agent's catalog, live by server-sent events, a fault injected by a reload
shown without reloading the page, a sensor's chart, keyboard and print."""

import os
import subprocess
import time

import pytest
from selenium.webdriver.common.keys import Keys

from browser import Browser
from conftest import CLI, free_port, wait_for

HOT = "rgba(177, 0, 38, 1)"  # --hot in page.css: the ramp's hottest step


def sim(faults="", interval="250ms"):
    return f"""
[[drivers]]
name = "rack"
type = "sim"
seed = 7
interval = "{interval}"

[[drivers.faults]]
kind = "hot_chip"
chip = 12
extra = 45.0
{faults}"""


def with_http(port):
    return f'[http]\nlisten = ["127.0.0.1:{port}"]\n'


@pytest.fixture
def browser():
    b = Browser()
    yield b
    b.close()


def chip_values_shown(browser):
    cells = browser.all("[data-chip]")
    return len(cells) == 64 and all("°C" in c.text for c in cells)


def test_the_page_draws_the_rack_and_follows_it_live(start_agent, browser, tmp_path):
    port = free_port()
    agent = start_agent(sim(), extra=with_http(port))
    browser.get(f"http://127.0.0.1:{port}/")
    wait_for(lambda: chip_values_shown(browser), what="64 chip cells with their die temperatures")

    # The rack as the rack is: 16 trays of 4 chips, the CDU loop, 4 shelves of 6 PSUs.
    trays = browser.all(".tray")
    assert [t.get_attribute("data-tray") for t in trays] == [str(i) for i in range(16)]
    assert all(len(t.find_elements("css selector", "[data-chip]")) == 4 for t in trays)
    assert len(browser.all("[data-psu]")) == 24
    assert "supply temp" in browser.one("#cooling").text and "flow" in browser.one("#cooling").text
    assert "ironwood" not in browser.one("#title").text and "lab / r01" == browser.one("#title").text

    # The sim's hot chip is drawn in the hot colour, with its condition in words; its neighbours are not.
    hot = browser.one('[data-chip="12"]')
    assert hot.value_of_css_property("background-color") == HOT
    assert hot.get_attribute("data-level") in ("warning", "critical")
    assert ("WARN" in hot.text) or ("CRIT" in hot.text)
    for other in ("11", "13", "40"):
        assert browser.one(f'[data-chip="{other}"]').value_of_css_property("background-color") != HOT
    wait_for(lambda: "chip 12 die temperature" in browser.one("#alarms").text, what="the alarm on top")
    assert "broker" in browser.one("#facts").text and "connected" in browser.one("#facts").text
    if os.environ.get("RACKTEL_SCREENSHOT"):
        browser.screenshot(os.environ["RACKTEL_SCREENSHOT"])  # docs/page.png is made this way
    browser.screenshot(tmp_path / "page.png")

    # Live: the values change without reloading the page.
    first = browser.one('[data-chip="0"] .value').text
    wait_for(lambda: browser.one('[data-chip="0"] .value').text != first, what="chip 0 updated live")

    # A fault injected by a reload: tray 5 leaks, tray 9 is pulled. Shown within 2 s, without reloading.
    agent.config.write_text(agent.config.read_text().replace(sim(), sim("""
[[drivers.faults]]
kind = "leak"
tray = 5

[[drivers.faults]]
kind = "missing_tray"
tray = 9
""")))
    browser.js("window.notReloaded = true")
    out = subprocess.run([str(CLI), "reload", "--socket", str(agent.socket)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr + out.stdout
    reloaded = time.monotonic()

    def fault_shown():
        missing = browser.all('.tray.missing[data-tray="9"]')
        leak = browser.all('.tray[data-tray="5"] .fact[data-level="critical"]')
        return missing and leak and "detected" in leak[0].text

    wait_for(fault_shown, timeout=2, what="the leak and the missing tray on the page")
    shown_after = time.monotonic() - reloaded
    assert browser.js("return window.notReloaded === true"), "the page was not reloaded"
    assert "MISSING" in browser.one('.tray[data-tray="9"]').text
    assert len(browser.all("[data-chip]")) == 60
    wait_for(lambda: "tray 5 leak sensor" in browser.one("#alarms").text, what="the leak alarm on top")
    print(f"fault shown {shown_after:.2f} s after the reload")
    assert browser.console_errors() == []


def test_a_sensors_chart_opens_with_its_limits_by_mouse_and_keyboard(start_agent, browser):
    port = free_port()
    start_agent(sim(), extra=with_http(port))
    browser.get(f"http://127.0.0.1:{port}/")
    wait_for(lambda: chip_values_shown(browser), what="the chips")

    browser.one('[data-chip="12"]').click()
    dialog = browser.one("#detail")
    wait_for(lambda: dialog.get_attribute("open") is not None, what="the detail")
    assert "chip 12" in browser.one("#detail-title").text
    wait_for(lambda: browser.all("#chart svg path.series"), what="the chart's line")
    # The die temperature's limits are drawn and named; the chip's other sensors are listed.
    assert len(browser.all("#chart svg line.warn")) == 1 and len(browser.all("#chart svg line.crit")) == 1
    assert "crit high 105.0" in browser.one("#chart svg").text
    assert len(browser.all("#detail-sensors [data-sensor]")) == 18  # die, 8 HBM, power, vcore, duty, 6 links
    # Another sensor of the chip, chosen in the detail.
    browser.one('#detail-sensors [data-sensor="rack/chip12.power"]').click()
    wait_for(lambda: "chip 12 power" in browser.one("#chart").text, what="the power chart")
    # Escape closes it; the keyboard alone opens another.
    dialog.send_keys(Keys.ESCAPE)
    wait_for(lambda: dialog.get_attribute("open") is None, what="the detail closed")
    browser.js("document.querySelector('[data-psu=\"2/3\"]').focus()")
    browser.driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(lambda: dialog.get_attribute("open") is not None, what="the PSU's detail by keyboard")
    assert "shelf 2 PSU 3" in browser.one("#detail-title").text
    wait_for(lambda: browser.all("#chart svg path.series"), what="the PSU's chart")
    assert browser.console_errors() == []


def test_measures_search_and_the_printed_record(start_agent, browser):
    port = free_port()
    start_agent(sim("""
[[drivers.faults]]
kind = "link_down"
chip = 33
link = 2
"""), extra=with_http(port))
    browser.get(f"http://127.0.0.1:{port}/")
    wait_for(lambda: chip_values_shown(browser), what="the chips")
    # Colour by link state: the chip with a link down is hot, the others read "6/6 up".
    browser.js("const s = document.getElementById('measure'); s.value = 'links'; s.dispatchEvent(new Event('change'))")
    wait_for(lambda: browser.one('[data-chip="33"] .value').text == "1 down", what="chip 33's link down")
    assert browser.one('[data-chip="33"]').value_of_css_property("background-color") == HOT
    assert browser.one('[data-chip="0"] .value').text == "6/6 up"
    # HBM maximum and power have their units.
    browser.js("const s = document.getElementById('measure'); s.value = 'power'; s.dispatchEvent(new Event('change'))")
    wait_for(lambda: browser.one('[data-chip="0"] .value').text.endswith(" W"), what="chip power")

    # Any sensor, found by name or label.
    search = browser.one("#filter")
    search.send_keys("hbm7")
    wait_for(lambda: len(browser.all("#sensors tbody tr")) == 64, what="the 64 HBM stack 7 sensors")
    search.clear()
    search.send_keys("psu=5")
    wait_for(lambda: len(browser.all("#sensors tbody tr")) == 4 * 5, what="PSU 5 of each shelf (5 sensors each)")

    # Printed as an acceptance record: the controls go, a record line with the rack and time comes.
    browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.one(".controls").is_displayed() and not browser.one(".all-sensors").is_displayed()
    record = browser.one("#printed")
    assert record.is_displayed() and "Acceptance record: lab/r01" in record.text
    browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert browser.console_errors() == []
