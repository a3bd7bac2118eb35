package uibrowser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// tab is one browser tab and what its console reported.
type tab struct {
	ctx  context.Context
	shot string // the screenshot directory

	mu sync.Mutex
	// problems are the exceptions, console errors and browser log errors
	// of the pages, each with the phase of the test it happened in
	// (guarded by mu, as phase is).
	problems []problem
	phase    string
}

type problem struct {
	phase, kind, source, text, url string
}

// startBrowser starts Chromium with one tab, or skips (fails when
// SHADOWVAULT_REQUIRE_BROWSER is set) without it.
func startBrowser(t *testing.T) *tab {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		msg := "no Chromium at " + chromiumPath + " (Debian package chromium; make test installs it)"
		if os.Getenv("SHADOWVAULT_REQUIRE_BROWSER") != "" {
			t.Fatal(msg + ", and SHADOWVAULT_REQUIRE_BROWSER is set")
		}
		t.Skip(msg + ": skipping the browser tests (SHADOWVAULT_REQUIRE_BROWSER=1 makes this a failure)")
	}
	shots := os.Getenv("SHADOWVAULT_UI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	tb := &tab{ctx: ctx, shot: shots}
	// The first run starts the browser: no timeout on its context (a
	// timeout would stop the browser with it).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" || m.Type == "assert" {
				tb.mu.Lock()
				tb.problems = append(tb.problems, problem{phase: tb.phase, kind: string(m.Type), source: m.Source, text: m.Text, url: m.URL})
				tb.mu.Unlock()
			}
		}
	}()
	return tb
}

func (tb *tab) setPhase(p string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.phase = p
}

// do runs steps with a time limit, failing the test (with the page's
// text) on error.
func (tb *tab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage text:\n%.2000s", what, err, tb.mainText())
	}
}

func (tb *tab) mainText() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	return s
}

// value runs one action and returns its value.
func value[T any](t *testing.T, tb *tab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v\npage text:\n%.2000s", what, err, tb.mainText())
	}
	return v
}

// js evaluates a JavaScript statement as a step.
func js(expr string) chromedp.Action[chromedp.Void] { return void(chromedp.Evaluate[any](expr)) }

// until waits until a JavaScript expression is true.
func until(expr string) chromedp.Action[chromedp.Void] {
	return void(chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second)))
}

func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// promise evaluates a JavaScript expression whose value is a promise.
func promise[T any](expr string) chromedp.Action[T] {
	return chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise)
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// show goes to a dashboard route (a hash) and waits until sel is shown.
func (tb *tab) show(t *testing.T, hash, sel string) {
	t.Helper()
	tb.do(t, "show "+hash, js(`location.hash = `+jsString(hash)), chromedp.WaitVisible(css(sel)))
}

// screenshot saves the viewport (1280x800) as name.png.
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	tb.do(t, "settle", chromedp.Sleep(150*time.Millisecond))
	png := value(t, tb, "screenshot "+name, chromedp.CaptureScreenshot())
	p := filepath.Join(tb.shot, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// allowDownloads saves the browser's downloads into dir under their names.
func (tb *tab) allowDownloads(t *testing.T, dir string) {
	t.Helper()
	yes := true
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &yes}); err != nil {
		t.Fatal(err)
	}
}

// waitFile waits until dir holds name with at least size bytes (and no
// partial download) and returns its content.
func waitFile(t *testing.T, dir, name string, size int) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		partial, _ := filepath.Glob(filepath.Join(dir, "*.crdownload"))
		if err == nil && len(b) >= size && len(partial) == 0 {
			return b
		}
		time.Sleep(50 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("no download %s of %d bytes in %s: %v", name, size, dir, names)
	return nil
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}

// into runs a and keeps its value in p.
func into[T any](p *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*p = v
		return chromedp.Void{}, err
	}
}

// eval evaluates a JavaScript expression into p.
func eval[T any](expr string, p *T) chromedp.Action[chromedp.Void] {
	return into(p, chromedp.Evaluate[T](expr))
}

// evalPromise evaluates a JavaScript expression whose value is a promise
// into p.
func evalPromise[T any](expr string, p *T) chromedp.Action[chromedp.Void] {
	return into(p, promise[T](expr))
}

// text reads the visible text of the element sel into p.
func readText(sel string, p *string) chromedp.Action[chromedp.Void] {
	return into(p, chromedp.Text(css(sel)))
}
