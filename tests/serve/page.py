"""page.py URL TEDDY TEDDY_CLASS TEXT_FILE OUT_DIR: the upload page in headless Chromium (Selenium).

Opens the page, uploads TEDDY through the file input and waits for the answer: the class must be
TEDDY_CLASS (what bears predict says) and every class must get a bar whose width is its percentage.
Then uploads TEXT_FILE and waits for the error. Screenshots at a desktop and a phone width go to
OUT_DIR. Every wait is bounded (10 s)."""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

url, teddy, teddy_class, text_file, out = sys.argv[1:6]
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,860"):
    options.add_argument(flag)
browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
problems = []
try:
    wait = WebDriverWait(browser, 10)
    browser.get(url)
    wait.until(seen.text_to_be_present_in_element((By.ID, "model"), "bearnet-s"))
    browser.find_element(By.ID, "file").send_keys(teddy)
    wait.until(seen.visibility_of_element_located((By.ID, "result")))
    answer = browser.find_element(By.ID, "answer").text.lower()
    if answer != teddy_class:
        problems.append(f"the page says {answer!r}, bears predict {teddy_class!r}")
    rows = browser.find_elements(By.CSS_SELECTOR, "#bars .row")
    names = [r.get_attribute("data-name") for r in rows]
    if names != ["black", "grizzly", "teddy"]:
        problems.append(f"bars for {names}, not for black, grizzly, teddy")
    for r in rows:
        fill, track = r.find_element(By.CSS_SELECTOR, ".fill"), r.find_element(By.CSS_SELECTOR, ".track")
        pct = float(r.find_element(By.CSS_SELECTOR, ".pct").text.rstrip("%"))
        drawn = 100 * fill.size["width"] / track.size["width"]
        if abs(drawn - pct) > 2:
            problems.append(f"bar {r.get_attribute('data-name')}: {drawn:.1f}% wide for {pct}%")
    browser.save_screenshot(f"{out}/page-desktop.png")
    browser.set_window_size(390, 844) # a phone
    browser.save_screenshot(f"{out}/page-phone.png")
    if browser.execute_script("return document.documentElement.scrollWidth") > 390:
        problems.append("the page is wider than a phone's screen")
    browser.find_element(By.ID, "file").send_keys(text_file)
    wait.until(seen.visibility_of_element_located((By.ID, "error")))
    error = browser.find_element(By.ID, "error").text
    if "not an image" not in error:
        problems.append(f"the error shown is {error!r}")
    if browser.find_element(By.ID, "result").is_displayed():
        problems.append("the old answer is still shown next to the error")
    browser.save_screenshot(f"{out}/page-phone-error.png")
    print(f"answer {answer}, bars {names}, error {error!r}")
finally:
    browser.quit()
for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
