"""Debian's headless Chromium driven by Selenium (the system's
/usr/bin/chromium and /usr/bin/chromedriver; `make test` installs them;
nothing is ever downloaded), for the tests that use the gateway's pages in
a real browser."""
import os

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
PHONE = (412, 800)  # a phone's web view
DESKTOP = (1280, 900)


def chromium(profile_dir, size=PHONE, performance_log=False):
    """A started Chromium with its profile in `profile_dir`; quit() it."""
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), \
        "Debian's chromium and chromium-driver are missing: make test installs them"
    os.environ["SE_OFFLINE"] = "true"  # Selenium must never download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + str(profile_dir))
    options.add_argument("--window-size={},{}".format(*size))
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
