"""The companion apps' sign-in, end to end in a real browser on both
runtimes: Debian's headless Chromium driven by Selenium (tests/browser.py)
opens /auth/authorize as the Android app's web view does, a user signs in
with the keyboard alone, and the navigation to
homeassistant://auth-callback?code=…&state=… is read from the browser's
performance log (a custom scheme does not load; the app would catch it).
The code is then exchanged at /auth/token like the app does, the phone
registered with the access token (mobile_app), and the tokens used,
refreshed and revoked.

Screenshots of the page (the form with an error, then signed in) are saved
as artifacts in the test's tmp directory: sign-in-form.png and
sign-in-done.png.
"""
import json
import os
import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from auth_client import ANDROID, APP_CALLBACK, create_user, token_request
from browser import chromium
from mobile_phone import Phone


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path / "chromium-profile", performance_log=True)
    yield driver
    driver.quit()


def navigations(driver, prefix):
    """The URLs starting with `prefix` the page asked to navigate to since
    the last call."""
    found = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Page.frameRequestedNavigation", "Page.frameScheduledNavigation"):
            url = message["params"]["url"]
            if url.startswith(prefix) and url not in found:
                found.append(url)
    return found


def test_companion_app_sign_in_in_a_real_browser(start_gateway, browser, tmp_path):
    gw = start_gateway()
    create_user(gw, "ada", "correct horse")
    query = urllib.parse.urlencode({"response_type": "code", "client_id": ANDROID,
                                    "redirect_uri": APP_CALLBACK, "state": "s-42"})
    browser.get(gw.url("/auth/authorize?" + query))
    wait = WebDriverWait(browser, 15)
    wait.until(lambda d: d.find_element(By.ID, "client").text == "for " + ANDROID)
    # The keyboard alone: the username field has the focus, Tab moves on, Enter submits.
    wait.until(lambda d: d.switch_to.active_element.get_attribute("id") == "username")
    browser.switch_to.active_element.send_keys("Ada", Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "password"
    browser.switch_to.active_element.send_keys("wrong", Keys.ENTER)
    wait.until(lambda d: d.find_element(By.ID, "error").text == "Invalid username or password.")
    assert browser.find_element(By.ID, "error").get_attribute("role") == "alert"
    assert browser.switch_to.active_element.get_attribute("id") == "password"
    browser.save_screenshot(str(tmp_path / "sign-in-form.png"))

    browser.switch_to.active_element.send_keys("correct horse", Keys.ENTER)
    seen = []  # reading the log empties it
    wait.until(lambda d: seen.extend(navigations(d, APP_CALLBACK)) or seen)
    browser.save_screenshot(str(tmp_path / "sign-in-done.png"))
    [url] = seen
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme + "://" + parts.netloc == APP_CALLBACK
    params = urllib.parse.parse_qs(parts.query)
    assert params["state"] == ["s-42"] and len(params["code"][0]) == 32
    assert params["storeToken"] == ["true"]  # "keep me signed in": preselected on a local network
    assert browser.find_element(By.ID, "back").get_attribute("href") == url
    assert os.path.getsize(tmp_path / "sign-in-done.png") > 1000

    # What the app does with the code.
    r = token_request(gw, grant_type="authorization_code", client_id=ANDROID, code=params["code"][0])
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert gw.get("/api/", token=tokens["access_token"]).json() == {"message": "API running."}
    # ...and registers the phone with it (mobile_app), then talks to its webhook.
    phone = Phone(gw, token=tokens["access_token"])
    phone.register()
    status, config, _ = phone.send("get_config")
    assert status == 200 and "mobile_app" in config["components"]
    r = token_request(gw, grant_type="refresh_token", client_id=ANDROID, refresh_token=tokens["refresh_token"])
    fresh = r.json()["access_token"]
    assert gw.get("/api/", token=fresh).status_code == 200
    assert token_request(gw, token=tokens["refresh_token"], action="revoke").status_code == 200
    assert gw.get("/api/", token=fresh).status_code == 401


def test_the_page_says_when_nobody_can_sign_in_yet(start_gateway, browser):
    gw = start_gateway()
    query = urllib.parse.urlencode({"client_id": ANDROID, "redirect_uri": APP_CALLBACK})
    browser.get(gw.url("/auth/authorize?" + query))
    WebDriverWait(browser, 15).until(lambda d: "No user exists yet" in d.find_element(By.ID, "error").text)
    assert browser.find_element(By.ID, "submit").get_attribute("disabled") == "true"
