"""The gateway's web page at `/`, end to end in a real browser (Debian's
headless Chromium, tests/browser.py) on both runtimes: a person signs in
with a username and password through /auth/authorize, sees a serial
sensor's new value within a second of its line, sends a command that
arrives at the pty, creates and revokes a token, dismisses a notification,
lifts a ban, saves an invalid config (and reads the error) and a valid one
(and sees the gateway come back); the companion apps' web view signs in
through a stub of their external-auth bridge.

One gateway per runtime and one browser for the module (Chromium's start is
the slow part). Screenshots of every view at phone and desktop widths go to
build/screenshots/<runtime>-<view>-<phone|desktop>.png for a person to look
at (not committed).
"""
import os
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

import page_gzip  # tools/page_gzip.py, on the path by conftest
from auth_client import create_user
from browser import DESKTOP, PHONE, chromium
from conftest import ROOT, RUNTIMES, Gateway
from mobile_phone import Phone
from test_bridge import Pty, wait_port, wait_state

SCREENSHOTS = os.path.join(ROOT, "build", "screenshots")
BANNED = "203.0.113.7"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    page_gzip.write()  # as make does
    driver = chromium(tmp_path_factory.mktemp("chromium") / "profile")
    yield driver
    driver.quit()


@pytest.fixture(scope="module", params=RUNTIMES)
def site(request, tmp_path_factory):
    """(gateway, pty): a gateway with a JSON-lines serial port, a log file,
    a user who signs in with a password and one banned address."""
    tmp = tmp_path_factory.mktemp("page-" + request.param)
    pty = Pty(tmp / "ttyUSB0")
    config_dir = tmp / "config"
    config_dir.mkdir()
    with open(config_dir / "ip_bans.yaml", "w") as f:
        f.write("\n{}:\n  banned_at: '2026-11-01T10:00:00+00:00'\n".format(BANNED))
    gw = Gateway(request.param, config_dir, {
        "serial": [{"port": pty.link, "protocol": "jsonl"}], "log_file": str(config_dir / "ugate.log"),
        "location_name": "Workshop"})
    create_user(gw, "ada", "correct horse")
    gw.start()
    pty.write(b'{"id": "kitchen", "temperature": 20.5, "relay": false}\n')
    yield gw, pty
    gw.stop()
    pty.close()


def find(browser, css):
    return browser.find_element(By.CSS_SELECTOR, css)


def wait(browser, condition, timeout=15):
    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(condition)


def text_of(browser, css):
    """The element's text (shown or not at this width), '' while it is not there."""
    found = browser.find_elements(By.CSS_SELECTOR, css)
    return found[0].get_attribute("textContent") if found else ""


def signed_in(browser, gw):
    """The page at / signed in as ada (with her password the first time in
    this browser; the tokens are kept in its storage after that)."""
    browser.get(gw.url("/#sensors"))
    wait(browser, lambda d: find(d, "#nav").is_displayed() or find(d, "#signin").is_displayed())
    if find(browser, "#signin").is_displayed():
        find(browser, "#signin-button").click()
        wait(browser, lambda d: d.switch_to.active_element.get_attribute("id") == "username")
        browser.switch_to.active_element.send_keys("ada", Keys.TAB)
        browser.switch_to.active_element.send_keys("correct horse", Keys.ENTER)
        wait(browser, lambda d: d.current_url.startswith(gw.url("/")) and find(d, "#nav").is_displayed())
        assert "code=" not in browser.current_url  # the code is spent and out of the address bar
    wait(browser, lambda d: text_of(d, "#status") == "connected")


def go(browser, view):
    find(browser, "#nav-" + view).click()
    wait(browser, lambda d: find(d, "#view-" + view).is_displayed())


def screenshots(browser, gw, view):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        browser.set_window_size(*size)
        time.sleep(0.2)  # a frame for the layout
        browser.save_screenshot(os.path.join(SCREENSHOTS, "{}-{}-{}.png".format(gw.runtime, view, label)))
    browser.set_window_size(*PHONE)


def row(entity_id):
    return '[data-entity="{}"]'.format(entity_id)


def test_sign_in_live_sensor_and_command(site, browser):
    gw, pty = site
    signed_in(browser, gw)
    temperature = row("sensor.jsonl_kitchen_temperature")
    wait(browser, lambda d: text_of(d, temperature + " .state") == "20.5 °C")
    # A new line: on the page within a second.
    pty.write(b'{"id": "kitchen", "temperature": 21.25}\n')
    wait(browser, lambda d: text_of(d, temperature + " .state") == "21.25 °C", timeout=1)
    assert "s ago" in text_of(browser, temperature + " .ago")
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, temperature + " polyline")) == 1)
    assert "serial {} · jsonl".format(pty.link) in text_of(browser, ".group h3")
    # Filtering.
    find(browser, "#filter").send_keys("relay")
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, temperature))
    relay = row("binary_sensor.jsonl_kitchen_relay")
    assert find(browser, relay).is_displayed()
    screenshots(browser, gw, "sensors")
    # The detail view, and a command that reaches the device.
    find(browser, relay).click()
    wait(browser, lambda d: find(d, "#detail").is_displayed())
    assert "port" in text_of(browser, "#detail-attributes")
    wait(browser, lambda d: d.find_elements(By.XPATH, "//button[text()='send on']"))
    browser.find_element(By.XPATH, "//button[text()='send on']").click()
    assert pty.read_line() == '{"id": "kitchen", "relay": true}'
    screenshots(browser, gw, "detail")
    find(browser, "#detail-close").click()
    find(browser, "#filter").clear()
    find(browser, "#filter").send_keys(Keys.BACKSPACE)


def test_connections_and_log(site, browser):
    gw, pty = site
    signed_in(browser, gw)
    go(browser, "connections")
    wait(browser, lambda d: "lines read" in text_of(d, "#ports"))
    assert pty.link in text_of(browser, "#ports") and "jsonl" in text_of(browser, "#ports")
    # A phone registered (as the companion app does), listed, and removed.
    Phone(gw).register()
    wait(browser, lambda d: "Pixel 8" in text_of(d, "#phones"))
    assert "2025.1.1-full" in text_of(browser, "#phones")
    screenshots(browser, gw, "connections")
    browser.execute_script("window.confirm = function () { return true; };")
    find(browser, '[aria-label="Remove Pixel 8"]').click()
    wait(browser, lambda d: "Pixel 8" not in text_of(d, "#phones"))
    assert gw.get("/api/mobile_app/registrations").json() == []
    go(browser, "log")
    wait(browser, lambda d: "listening on" in text_of(d, "#log"))
    gw.get("/api/", token="wrong")  # a warning, live in the log
    wait(browser, lambda d: "Login attempt or request with invalid authentication" in text_of(d, "#log"))
    find(browser, "#level").send_keys("error")  # keyboard selection of "error"
    wait(browser, lambda d: "listening on" not in text_of(d, "#log"))
    screenshots(browser, gw, "log")


def test_security_tokens_notifications_and_bans(site, browser):
    gw, pty = site
    signed_in(browser, gw)
    r = gw.post("/api/services/persistent_notification/create",
                json={"notification_id": "garage", "title": "Garage", "message": "Door open"})
    assert r.status_code == 200, r.text
    wait(browser, lambda d: text_of(d, "#badge") != "")
    go(browser, "security")
    wait(browser, lambda d: "Door open" in text_of(d, "#notifications"))
    wait(browser, lambda d: BANNED in text_of(d, "#bans"))
    screenshots(browser, gw, "security")
    # Dismiss.
    find(browser, '[aria-label="Dismiss Garage"]').click()
    wait(browser, lambda d: "Door open" not in text_of(d, "#notifications"))
    assert gw.get("/api/states/persistent_notification.garage").status_code == 404
    # Unban.
    find(browser, '[aria-label="Unban {}"]'.format(BANNED)).click()
    wait(browser, lambda d: "No address is banned." in text_of(d, "#bans"))
    assert gw.get("/api/ugate/owner/bans").json() == []
    # A long-lived token: created and shown once, listed, revoked.
    find(browser, "#llat-name").send_keys("dashboard", Keys.ENTER)
    wait(browser, lambda d: find(d, "#llat-value").get_attribute("value"))
    token = find(browser, "#llat-value").get_attribute("value")
    assert gw.get("/api/", token=token).status_code == 200
    wait(browser, lambda d: "dashboard" in text_of(d, "#tokens"))
    find(browser, '[aria-label="Revoke dashboard"]').click()
    wait(browser, lambda d: "dashboard" not in text_of(d, "#tokens"))
    assert gw.get("/api/", token=token).status_code == 401


def set_config(browser, text):
    browser.execute_script("document.getElementById('config').value = arguments[0];", text)
    find(browser, "#config-save").click()


def test_gateway_view_saves_config_and_comes_back(site, browser):
    gw, pty = site
    signed_in(browser, gw)
    go(browser, "gateway")
    wait(browser, lambda d: "of 10000" in text_of(d, "#info") or "of 256" in text_of(d, "#info"))
    assert gw.runtime[:6] in text_of(browser, "#info")
    wait(browser, lambda d: "Workshop" in find(d, "#config").get_attribute("value"))
    # The board status was asked for before the config, and answered 404:
    # no update control on a gateway that is no board.
    assert not find(browser, "#update-part").is_displayed()
    screenshots(browser, gw, "gateway")
    original = find(browser, "#config").get_attribute("value")
    set_config(browser, '{"log_level": "loud"}')
    wait(browser, lambda d: "error: " in text_of(d, "#config-message"))
    assert "key 'log_level'" in text_of(browser, "#config-message")
    assert find(browser, "#config-message").get_attribute("class") == "error"
    set_config(browser, original.replace("Workshop", "Workshop 2"))
    wait(browser, lambda d: text_of(d, "#config-message") == "The gateway is back.", timeout=30)
    assert gw.get("/api/config").json()["location_name"] == "Workshop 2"
    wait(browser, lambda d: text_of(d, "#status") == "connected")  # the WebSocket reconnected
    # Still live after the restart.
    go(browser, "sensors")
    # The restarted gateway opens its port anew, and input sent before it
    # is open is flushed: a device's reading after it.
    wait_port(gw, pty.link, "connected")
    pty.write(b'{"id": "kitchen", "temperature": 23}\n')
    wait_state(gw, "sensor.jsonl_kitchen_temperature", "23")
    wait(browser, lambda d: text_of(d, row("sensor.jsonl_kitchen_temperature") + " .state") == "23 °C")


STUB_BRIDGE = """
window.externalApp = {getExternalAuth: function (payload) {
  var options = JSON.parse(payload);
  window.askedWith = options;
  setTimeout(function () {
    window[options.callback](true, {access_token: %s, expires_in: 1800});
  }, 10);
}};
"""


def test_companion_app_web_view_with_external_auth(site, browser):
    gw, pty = site
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                     {"source": STUB_BRIDGE % ('"' + gw.token + '"')})
    try:
        browser.get(gw.url("/?external_auth=1"))
        wait(browser, lambda d: text_of(d, "#status") == "connected")
        assert browser.execute_script("return window.askedWith") == {"callback": "externalAuthSetToken",
                                                                     "force": False}
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row("sensor.jsonl_kitchen_temperature")))
        assert not find(browser, "#signin").is_displayed()
        # The app's token is never stored by the page.
        assert browser.execute_script("return localStorage.getItem('ugateTokens')") is None or \
            gw.token not in browser.execute_script("return localStorage.getItem('ugateTokens')")
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", script)


def test_without_a_bridge_external_auth_says_so(site, browser):
    gw, pty = site
    browser.get(gw.url("/?external_auth=1"))
    wait(browser, lambda d: "no app bridge" in text_of(d, "#signin-error"))
