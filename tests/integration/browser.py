"""Headless Chromium (Debian's chromium + chromium-driver) driven by Selenium,
for the agent's page. Loopback only; nothing is fetched from elsewhere."""

import shutil
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


class Browser:
    def __init__(self, width=1400, height=1800):
        options = webdriver.ChromeOptions()
        self.profile = tempfile.mkdtemp(prefix="racktel-chromium-")
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-extensions", f"--user-data-dir={self.profile}",
                    f"--window-size={width},{height}"):
            options.add_argument(arg)
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                                       options=options)

    def get(self, url):
        self.driver.get(url)

    def all(self, css):
        return self.driver.find_elements("css selector", css)

    def one(self, css):
        return self.driver.find_element("css selector", css)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def console_errors(self):
        """What the page wrote to the console at level SEVERE (errors, failed loads) since the last call."""
        return [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, path):
        self.driver.save_screenshot(str(path))

    def close(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)
