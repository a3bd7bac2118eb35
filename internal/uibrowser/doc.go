// Package uibrowser tests the web dashboard (/ui/) in a real headless
// Chromium driven over the DevTools protocol (chromedp), against a real
// server with real backups of NTFS disks. It holds tests only.
//
// Without Chromium (/usr/bin/chromium, Debian package chromium) the tests
// skip, unless SHADOWVAULT_REQUIRE_BROWSER is set (make test sets it):
// then they fail. Screenshots of the main pages go to
// $SHADOWVAULT_UI_SCREENSHOTS, or a temporary directory.
package uibrowser
