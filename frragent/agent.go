package frragent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldlb/herald/frragent/vtysh"
	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/redact"
)

// Reloader applies a whole config file to FRR, as `frr-reload.py --reload
// FILE` does, and returns what it printed.
type Reloader func(ctx context.Context, file string) (output string, err error)

// FRRReload returns a Reloader running FRR's frr-reload.py script with the
// vtysh binary at vtyshPath (frr-reload.py wants its folder) and, when not
// empty, the FRR pathspace. rundir, when not empty, is the folder for the
// script's temporary command files (its --rundir, /var/run/frr by default):
// give the agent a folder of its own, and the files of a run stopped before
// it removed them (a timeout kills it) are removed after the run.
//
// The file is handed to the script as frr.conf in a folder of its own,
// given as its --confdir: frr-reload.py then takes it for the config FRR
// boots from and does not `vtysh write` the running config over the
// instance's frr.conf in /etc/frr (which it does after reloading any
// other file). Nothing is written outside rundir (or, without one, a
// temporary folder).
func FRRReload(script, vtyshPath, pathspace, rundir string) Reloader {
	return func(ctx context.Context, file string) (string, error) {
		confdir, err := os.MkdirTemp(rundir, "herald-frr-reload-conf-")
		if err != nil {
			return "", fmt.Errorf("creating a folder for frr-reload.py's config: %w", err)
		}
		defer os.RemoveAll(confdir)
		text, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", file, err)
		}
		target := filepath.Join(confdir, "frr.conf")
		if err := os.WriteFile(target, text, 0o600); err != nil {
			return "", fmt.Errorf("writing %s: %w", target, err)
		}
		args := []string{"--reload", "--stdout", "--log-level", "warning", "--confdir", confdir}
		if vtyshPath != "" {
			if p, err := exec.LookPath(vtyshPath); err == nil {
				vtyshPath = p
			}
			args = append(args, "--bindir", filepath.Dir(vtyshPath))
		}
		if pathspace != "" {
			args = append(args, "--pathspace", pathspace)
		}
		if rundir != "" {
			args = append(args, "--rundir", rundir)
			defer removeReloadFiles(rundir)
		}
		args = append(args, target)
		out, err := exec.CommandContext(ctx, script, args...).CombinedOutput()
		if err != nil {
			return string(out), fmt.Errorf("%s --reload %s: %w", script, file, err)
		}
		return string(out), nil
	}
}

// removeReloadFiles removes the command files frr-reload.py leaves in
// rundir when it is stopped mid-run (reload-XXXXXX.txt).
func removeReloadFiles(rundir string) {
	files, _ := filepath.Glob(filepath.Join(rundir, "reload-*.txt"))
	for _, f := range files {
		_ = os.Remove(f)
	}
}

// Options configure an Agent.
type Options struct {
	// Vtysh runs vtysh on the FRR instance the agent drives. Required.
	Vtysh vtysh.Func
	// Reload applies a whole file (FRRReload in production). Required.
	Reload Reloader
	// ConfigPath is the frr.conf the agent writes (mode 0600) once a config
	// is applied; the candidate files being checked go to a private folder
	// beside it (TempDir). Required.
	ConfigPath string
	// CheckInterval is how often the agent checks that bgpd still runs its
	// config (see Watch); zero means 2 seconds.
	CheckInterval time.Duration
	// VtyDir is the folder holding FRR's daemon vty sockets (bgpd.vty, ...):
	// /var/run/frr, or /var/run/frr/<pathspace> for an instance started
	// with -N. When set, incremental applies to bgpd, the checks of the
	// daemons' running configs after them and State's reads go over
	// long-lived connections to the daemons' sockets, as vtysh does,
	// instead of starting a vtysh (about 30 ms of CPU) per command; when
	// empty they run vtysh.
	VtyDir string
	// DryRun checks configuration text with FRR's own parser without
	// changing anything, as `vtysh -C` does (vtysh.DryRun's Check, which
	// keeps a vtysh started ahead of need); nil runs `vtysh -C -f` on a
	// file through Vtysh. Every apply is checked first, except an
	// incremental one that only adds or removes networks (see apply).
	DryRun func(ctx context.Context, text []byte) (string, error)
	// Daemons are the FRR daemons Health checks; nil means
	// DefaultDaemons().
	Daemons []string
	// BatchSize bounds the configuration commands an incremental apply
	// sends to a daemon in a row before pausing as long as they took (see
	// runCollect); zero means DefaultBatchSize.
	BatchSize int
	// RestartLoadsConfig says that FRR itself loads ConfigPath into a
	// daemon watchfrr restarts (ConfigPath is InstanceConfig(pathspace) and
	// FRR was started by frrinit.sh, as in herald's image): a restarted
	// bgpd is then given up to 5 s to load it before the agent loads the
	// last good config itself.
	RestartLoadsConfig bool
	// WithdrawAfter is how long no client (the speaker) may be connected
	// to the agent's API before the agent withdraws the node's prefixes,
	// keeping sessions and BFD up (see watchSpeaker); zero means
	// DefaultWithdrawAfter, negative never.
	WithdrawAfter time.Duration
	// Registerer receives the agent's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Log receives what the agent does; the zero logger discards it.
	Log logr.Logger
}

// Agent applies configs to one FRR instance and reads its state. Its methods
// are safe for concurrent use; applies run one at a time.
type Agent struct {
	vtysh         vtysh.Func
	reload        Reloader
	configPath    string
	checkInterval time.Duration
	vtyDir        string
	dryRunFn      func(ctx context.Context, text []byte) (string, error)
	batchSize     int
	metrics       *metrics
	log           logr.Logger
	daemons       []string
	// restartLoadsConfig is Options.RestartLoadsConfig.
	restartLoadsConfig bool
	// bgpdPID is bgpd's pid at the last check (checkBGP, under applyMu).
	bgpdPID int
	// bfdBaseline holds, for a neighbor whose session a config reset,
	// its count of established sessions then: its BFD waits for a count
	// above it (see deferResetBFD). Guarded by applyMu.
	bfdBaseline map[neighborID]int
	// bfdBaselinePID is the pid of the bgpd whose counts bfdBaseline
	// holds (0: unknown). Guarded by applyMu.
	bfdBaselinePID int
	withdrawAfter  time.Duration
	// clients are the connections to the agent's API and whether the
	// speaker said goodbye (see WaitPath).
	clients *clients

	applyMu sync.Mutex // one apply (or re-apply) at a time
	// conns are the applies' connections to the daemons' vty sockets;
	// stateConns State's, so that a state read never waits for an apply.
	conns, stateConns vtyConns

	// secrets are the passwords given so far, redacted from every log
	// line and result (secrets.go).
	secrets secrets

	mu         sync.Mutex // guards the fields below
	last       *applied
	lastResult *Result
}

// applied is a config FRR runs.
type applied struct {
	gen int64
	// requested is the config the caller asked for; plan is what FRR was
	// given: requested with the BFD of bfdPending's neighbors left out
	// until their first session (see withBFDDeferred).
	requested  *frrconfig.Config
	bfdPending []string
	plan       *frrconfig.Plan // nil when applied from a rendered file
	text       []byte
	norm       []string
	hash       string
	hasBGP     bool
}

// New returns an Agent; it does not touch FRR until the first call.
func New(opts Options) (*Agent, error) {
	switch {
	case opts.Vtysh == nil:
		return nil, errors.New("frr-agent: Options.Vtysh is nil: pass vtysh.Exec(path, pathspace)")
	case opts.Reload == nil:
		return nil, errors.New("frr-agent: Options.Reload is nil: pass FRRReload(script, vtysh, pathspace)")
	case opts.ConfigPath == "":
		return nil, errors.New("frr-agent: Options.ConfigPath is empty: name the frr.conf to write")
	}
	if err := prepareTempDir(opts.ConfigPath); err != nil {
		return nil, fmt.Errorf("frr-agent: %w", err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("frr-agent: registering metrics: %w", err)
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = 2 * time.Second
	}
	if opts.Daemons == nil {
		opts.Daemons = DefaultDaemons()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.WithdrawAfter == 0 {
		opts.WithdrawAfter = DefaultWithdrawAfter
	}
	a := &Agent{
		vtysh:         opts.Vtysh,
		reload:        opts.Reload,
		configPath:    opts.ConfigPath,
		checkInterval: opts.CheckInterval,
		vtyDir:        opts.VtyDir,
		conns:         vtyConns{dir: opts.VtyDir},
		stateConns:    vtyConns{dir: opts.VtyDir},
		dryRunFn:      opts.DryRun,
		batchSize:     opts.BatchSize,
		metrics:       m,
		log:           opts.Log,
		daemons:       opts.Daemons,
		withdrawAfter: opts.WithdrawAfter,
		clients:       newClients(),

		restartLoadsConfig: opts.RestartLoadsConfig,
	}
	a.log = redact.Logger(opts.Log, a.secrets.values)
	return a, nil
}

func (a *Agent) lastGood() *applied {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// Apply makes FRR run the request's config, or leaves the last good one
// running when FRR refuses it, and says what happened. It returns when FRR
// runs the config or has refused it.
func (a *Agent) Apply(ctx context.Context, req ApplyRequest) Result {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	return a.applyLocked(ctx, req)
}

// applyLocked is Apply for a caller holding applyMu.
func (a *Agent) applyLocked(ctx context.Context, req ApplyRequest) Result {
	start := time.Now()
	a.secrets.learn(req)
	res := a.redactResult(a.apply(ctx, req))
	res.Generation = req.Generation
	res.Duration = time.Since(start)
	a.record(res)
	return res
}

func (a *Agent) record(res Result) {
	res = a.redactResult(res) // callers outside applyLocked too
	a.metrics.observe(res)
	a.mu.Lock()
	a.lastResult = &res
	a.mu.Unlock()
	kv := []any{"generation", res.Generation, "method", res.Method, "duration", res.Duration, "commands", res.Commands, "phases", res.Phases}
	if len(res.SessionResets) > 0 {
		kv = append(kv, "sessionResets", res.SessionResets)
	}
	if res.Success {
		a.log.Info("applied FRR config", kv...)
	} else {
		a.log.Info("FRR config not applied", append(kv, "error", res.Error, "rejected", res.Rejected)...)
	}
}

// phase adds the time since *t to res.Phases[name] and resets *t.
func phase(res *Result, name string, t *time.Time) {
	now := time.Now()
	if res.Phases == nil {
		res.Phases = map[string]time.Duration{}
	}
	res.Phases[name] += now.Sub(*t)
	*t = now
}

func (a *Agent) apply(ctx context.Context, req ApplyRequest) (res Result) {
	t := time.Now()
	var text []byte
	var plan *frrconfig.Plan
	var pending []string
	switch {
	case req.Config != nil:
		cfg := req.Config
		var counts map[neighborID]int
		if waitingForSession(cfg, nil) {
			var connected map[neighborID]bool
			var err error
			connected, counts, err = a.connectedNeighbors(ctx)
			if err != nil {
				a.log.Info("cannot tell which BGP sessions came up; BFD waits for all of them", "error", err.Error())
			}
			cfg, pending = withBFDDeferred(cfg, connected)
		}
		var err error
		if plan, err = frrconfig.NewPlan(cfg); err != nil {
			return Result{Method: MethodNone, Error: fmt.Sprintf("rendering the config: %v", err)}
		}
		// A session this config resets opens anew: its BFD waits for it
		// as for a first session (deferResetBFD says why).
		if last := a.lastGood(); counts != nil && last != nil && last.plan != nil &&
			a.deferResetBFD(frrconfig.SessionResets(last.plan, plan), counts) {
			cfg, pending = withBFDDeferred(req.Config, a.connectedSince(counts))
			if plan, err = frrconfig.NewPlan(cfg); err != nil {
				return Result{Method: MethodNone, Error: fmt.Sprintf("rendering the config: %v", err)}
			}
		}
		text = plan.Text()
	case req.Rendered != "":
		text = []byte(req.Rendered)
	default:
		return Result{Method: MethodNone, Error: "the apply request has neither config nor rendered: set one of them"}
	}
	sum := sha256.Sum256(text)
	next := &applied{gen: req.Generation, requested: req.Config, bfdPending: pending, plan: plan, text: text, hash: hex.EncodeToString(sum[:]),
		norm: frrconfig.Normalize(text), hasBGP: strings.Contains("\n"+string(text), "\nrouter bgp ")}
	res = Result{Hash: next.hash, Method: MethodNone, BFDPending: pending}
	phase(&res, "render", &t)
	last := a.lastGood()
	if last != nil && last.hash == next.hash {
		res.Success = true
		a.commit(next, false)
		return res
	}

	// Plan: incremental when Diff knows the change, else a full reload.
	var cmds []string
	res.Method = MethodReload
	if plan != nil && last != nil && last.plan != nil {
		res.SessionResets = frrconfig.SessionResets(last.plan, plan)
		var err error
		cmds, err = frrconfig.DiffPlans(last.plan, plan)
		switch {
		case err == nil:
			res.Method = MethodIncremental
			res.Commands = len(cmds)
		case !errors.Is(err, frrconfig.ErrNeedsReload):
			a.log.Info("diff failed, reloading instead", "error", err.Error())
		}
	}
	phase(&res, "diff", &t)

	// Let FRR check what will reach it before anything changes: the
	// commands of an incremental apply (the rest of the file is what FRR
	// runs already), else the whole file. Commands that only add or remove
	// networks are not checked: each is one prefix the model parsed, FRR
	// answers each on its own, and a refused one leads to the full reload
	// below, which checks the whole file. Skipping the dry run there spares
	// the commonest apply (a Service came or went) a vtysh start, tens of
	// milliseconds of CPU on every node at once.
	if res.Method != MethodIncremental || !networksOnly(cmds) {
		if !a.check(ctx, text, cmds, &res) {
			return res
		}
		phase(&res, "check", &t)
	}

	if last == nil {
		// The agent (re)started while FRR kept running: adopt what runs
		// when it is this config.
		if ok, _, err := a.verify(ctx, next.norm); err == nil && ok {
			res.Method = MethodNone
			res.Success = true
			a.commit(next, true)
			return res
		}
	}

	if res.Method == MethodIncremental {
		ok, why, refused := a.applyCommands(ctx, cmds, next, &res, &t)
		if ok {
			res.Success = true
			if err := a.commit(next, true); err != nil {
				res.Success, res.Error = false, err.Error()
			}
			phase(&res, "write", &t)
			return res
		}
		if len(refused) > 0 && last != nil {
			a.refusedIncremental(ctx, last, next, refused, &res, &t)
			return res
		}
		a.log.Info("incremental apply did not give the rendered config, reloading", "generation", req.Generation, "why", why)
		res.Method = MethodReload
	}

	cand, err := a.writeTemp(".frr-candidate-*.conf", text)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer os.Remove(cand)
	if rejected, err := a.reloadAndVerify(ctx, cand, next); err != nil {
		res.Error = err.Error()
		res.Rejected = rejected
		if len(rejected) > 0 {
			res.Rendered = string(text)
		}
		if last != nil {
			a.restore(ctx, last)
		}
		return res
	}
	phase(&res, "reload", &t)
	res.Success = true
	if err := a.commit(next, true); err != nil {
		res.Success, res.Error = false, err.Error()
	}
	phase(&res, "write", &t)
	return res
}

// applyCommands runs Diff's commands in one session (stopping at the first
// command FRR refuses), then checks the result exactly where it matters and
// cheaply: bgpd's own running config against the rendered file (all of it
// but the bfd stanza), and bfdd's bfd stanza when the commands touched it.
// The merged `show running-config` costs much more at tens of thousands of
// prefixes: vtysh merges every daemon's copy line by line. Commands that
// only bgpd needs go over bgpd's vty socket when Options.VtyDir is set;
// the others (bfd profiles, log level: several daemons) through vtysh.
func (a *Agent) applyCommands(ctx context.Context, cmds []string, next *applied, res *Result, t *time.Time) (bool, string, []vtysh.RejectedLine) {
	touchesBFD, bgpdOnly := false, true
	for _, c := range cmds {
		touchesBFD = touchesBFD || c == "bfd"
		bgpdOnly = bgpdOnly && c != "bfd" && !strings.HasPrefix(c, "log ")
	}
	var err error
	var refused []vtysh.RejectedLine
	if bgpdOnly && a.vtyDir != "" {
		refused, err = a.runCollect(ctx, "bgpd", cmds)
		if rm := routeMapCommands(cmds); err == nil && len(refused) == 0 && len(rm) > 0 {
			refused, err = a.runCollect(ctx, a.routeMapDaemon(), rm)
		}
	} else {
		args := make([]string, 0, 2*len(cmds)+4)
		args = append(args, "-c", "configure terminal")
		for _, c := range cmds {
			args = append(args, "-c", c)
		}
		args = append(args, "-c", "end")
		_, err = a.vtysh(ctx, args...)
	}
	phase(res, "apply", t)
	if len(refused) > 0 {
		return false, fmt.Sprintf("FRR refused %d command(s)", len(refused)), refused
	}
	if err != nil {
		return false, fmt.Sprintf("FRR refused a command: %v", err), nil
	}
	defer phase(res, "verify", t)
	if ok, why, err := a.verifyDaemon(ctx, "bgpd", withoutStanza(next.norm, "bfd")); err != nil || !ok {
		return false, why + errText(err), nil
	}
	if touchesBFD {
		if ok, why, err := a.verifyDaemon(ctx, "bfdd", onlyStanza(next.norm, "bfd")); err != nil || !ok {
			return false, why + errText(err), nil
		}
	}
	return true, "", nil
}

// dryRun checks text with FRR's parser, changing nothing: Options.DryRun
// when set, else vtysh -C on a file.
func (a *Agent) dryRun(ctx context.Context, text []byte) (string, error) {
	if a.dryRunFn != nil {
		return a.dryRunFn(ctx, text)
	}
	file, err := a.writeTemp(".frr-check-*.conf", text)
	if err != nil {
		return "", err
	}
	defer os.Remove(file)
	return a.vtysh(ctx, "-C", "-f", file)
}

// check runs FRR's dry run on what will reach FRR: an incremental apply's
// commands, else the whole text. When FRR refuses a line it fills res with
// the rejected lines (numbered as in text) and returns false.
func (a *Agent) check(ctx context.Context, text []byte, cmds []string, res *Result) bool {
	checkText := text
	if res.Method == MethodIncremental {
		checkText = []byte(strings.Join(cmds, "\n") + "\n")
	}
	out, err := a.dryRun(ctx, checkText)
	if err == nil {
		return true
	}
	res.Error = "FRR rejected the config (vtysh --dryrun)"
	res.Rejected = vtysh.ParseRejected(out, vtysh.Output(err))
	if res.Method == MethodIncremental {
		// name the lines of the rendered file, not of the commands
		lines := strings.Split(string(text), "\n")
		for i := range res.Rejected {
			res.Rejected[i].Line = lineOf(lines, res.Rejected[i].Text)
		}
	}
	if len(res.Rejected) == 0 {
		res.Error = fmt.Sprintf("checking the config with vtysh --dryrun: %v", err)
	}
	res.Rendered = string(text)
	return false
}

// networksOnly reports whether Diff's commands only add or remove
// networks, in the router and address-family blocks that hold them.
func networksOnly(cmds []string) bool {
	for _, c := range cmds {
		switch {
		case strings.HasPrefix(c, "network "), strings.HasPrefix(c, "no network "),
			strings.HasPrefix(c, "router bgp "), strings.HasPrefix(c, "address-family "),
			c == "exit-address-family", c == "exit":
		default:
			return false
		}
	}
	return true
}

// verifyDaemon compares one daemon's running config with want (for bfdd,
// only its bfd stanza). bgpd is read over its vty socket when
// Options.VtyDir is set.
func (a *Agent) verifyDaemon(ctx context.Context, daemon string, want []string) (bool, string, error) {
	out, err := a.show(ctx, daemon, "show running-config")
	if err != nil {
		return false, "", fmt.Errorf("reading %s's running config: %w", daemon, err)
	}
	got := frrconfig.Normalize([]byte(out))
	if daemon == "bfdd" {
		got = onlyStanza(got, "bfd")
	}
	if !equalLines(want, got) {
		return false, fmt.Sprintf("%s's running config differs: %s", daemon, describeDiff(want, got)), nil
	}
	return true, "", nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// onlyStanza keeps the top-level stanza opened by the line first (up to and
// including its top-level "exit") from normalized lines.
func onlyStanza(lines []string, first string) []string {
	var out []string
	in := false
	for _, l := range lines {
		switch {
		case l == first:
			in = true
			out = append(out, l)
		case in && l == "exit":
			in = false
			out = append(out, l)
		case in:
			out = append(out, l)
		}
	}
	return out
}

// reloadAndVerify applies file with frr-reload.py and checks that FRR then
// runs next.
func (a *Agent) reloadAndVerify(ctx context.Context, file string, next *applied) ([]vtysh.RejectedLine, error) {
	out, rerr := a.reload(ctx, file)
	ok, diff, verr := a.verify(ctx, next.norm)
	var bgpdRejected []vtysh.RejectedLine
	if verr == nil && !ok {
		// frr-reload.py diffs against the merged running config, in which
		// the other daemons can still show lines bgpd lost: load the whole
		// file into bgpd alone, as watchfrr does after a restart. Its
		// answer also gives bgpd's own reason for each line it refuses,
		// where frr-reload.py only says "Failure to communicate to bgpd".
		a.log.Info("bgpd differs after frr-reload.py, loading the file into bgpd", "why", diff)
		if bout, err := a.vtysh(ctx, "-d", "bgpd", "-f", file); err != nil {
			bgpdRejected = vtysh.ParseRejected(bout, vtysh.Output(err))
			a.log.Info("loading the file into bgpd", "error", err.Error(), "rejected", bgpdRejected)
		}
		ok, diff, verr = a.verify(ctx, next.norm)
	}
	if verr != nil {
		return nil, fmt.Errorf("reading FRR's running config after frr-reload.py: %w", verr)
	}
	if ok {
		if rerr != nil {
			a.log.Info("frr-reload.py failed but FRR runs the config", "error", rerr.Error())
		}
		return nil, nil
	}
	rejected := bgpdRejected
	if len(rejected) == 0 {
		rejected = vtysh.ParseRejected("", out)
	}
	rejected = rootRefusals(rejected, next.text)
	if rerr != nil {
		return rejected, fmt.Errorf("frr-reload.py failed (%v); FRR's running config differs from the rendered file: %s", rerr, diff)
	}
	return rejected, fmt.Errorf("after frr-reload.py, FRR's running config differs from the rendered file: %s", diff)
}

// lineOf returns the 1-based number of the first line of lines equal to text
// (ignoring surrounding spaces), or 0.
func lineOf(lines []string, text string) int {
	if text == "" {
		return 0
	}
	for i, l := range lines {
		if strings.TrimSpace(l) == text {
			return i + 1
		}
	}
	return 0
}

// restore puts the last good config back after a failed apply.
func (a *Agent) restore(ctx context.Context, last *applied) {
	file, err := a.writeTemp(".frr-restore-*.conf", last.text)
	if err != nil {
		a.log.Error(err, "restoring the last good FRR config")
		return
	}
	defer os.Remove(file)
	if _, err := a.reloadAndVerify(ctx, file, last); err != nil {
		a.log.Error(err, "restoring the last good FRR config", "generation", last.gen)
	}
}

// verify compares FRR's running config with want (normalized), daemon by
// daemon: bgpd's own running config against all of want but the bfd stanza,
// and bfdd's bfd stanza against want's. The merged `show running-config`
// would hide a bgpd that lost lines other daemons still print (prefix-lists
// and route-maps live in every daemon), and costs much more at tens of
// thousands of prefixes: vtysh merges every daemon's copy line by line.
// When they differ it describes the first differences.
func (a *Agent) verify(ctx context.Context, want []string) (bool, string, error) {
	ok, why, err := a.verifyDaemon(ctx, "bgpd", withoutStanza(want, "bfd"))
	if err != nil || !ok {
		return ok, why, err
	}
	return a.verifyDaemon(ctx, "bfdd", onlyStanza(want, "bfd"))
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// describeDiff names up to 5 lines missing from got and 5 extra ones.
func describeDiff(want, got []string) string {
	count := map[string]int{}
	for _, l := range got {
		count[l]++
	}
	var missing, extra []string
	for _, l := range want {
		if count[l] > 0 {
			count[l]--
		} else if len(missing) < 5 {
			missing = append(missing, quote(l))
		}
	}
	for _, l := range got {
		if count[l] > 0 {
			count[l]--
			if len(extra) < 5 {
				extra = append(extra, quote(l))
			}
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return "same lines in another order"
	}
	return fmt.Sprintf("missing %v, unexpected %v", missing, extra)
}

func quote(s string) string { return fmt.Sprintf("%q", strings.TrimSpace(s)) }

// commit records next as the last good config and, when write is set,
// writes it to ConfigPath (0600, atomically) in the form a bgpd starting
// afresh is given (freshText: no neighbor's BFD before its first session;
// see restart.go).
func (a *Agent) commit(next *applied, write bool) error {
	a.mu.Lock()
	a.last = next
	a.mu.Unlock()
	if !write {
		return nil
	}
	tmp, err := a.writeTemp(".frr-conf-*.tmp", freshText(next.text))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, a.configPath); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", a.configPath, err)
	}
	return nil
}

// writeTemp writes data to a new 0600 file in the agent's private
// folder (TempDir), beside ConfigPath.
func (a *Agent) writeTemp(pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(TempDir(a.configPath), pattern)
	if err != nil {
		return "", fmt.Errorf("creating a file in %s: %w", TempDir(a.configPath), err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return f.Name(), nil // CreateTemp makes it 0600
}
