package images

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/internal/ociimage"
	"github.com/heraldlb/herald/internal/testenv"
)

// finalStage is what a Dockerfile's last stage puts in its image.
type finalStage struct {
	// Files maps each regular file's path in the image to the file of the
	// build context it comes from, or "" when it comes from another stage.
	Files      map[string]string
	User       string
	Entrypoint []string
}

// parseFinalStage reads the instructions after the Dockerfile's last FROM:
// COPY (from the context, a file or a folder, or --from a stage), USER and
// ENTRYPOINT in exec form. Any other instruction is an error, so that a new
// one cannot slip past this test unchecked.
func parseFinalStage(dockerfile []byte, contextDir string) (finalStage, error) {
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(dockerfile), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	last := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			last = i
		}
	}
	st := finalStage{Files: map[string]string{}}
	if last < 0 {
		return st, fmt.Errorf("no FROM")
	}
	if f := strings.Fields(lines[last]); len(f) != 2 || f[1] != "scratch" {
		return st, fmt.Errorf("the final stage is %q, not FROM scratch: its base's files cannot be checked", lines[last])
	}
	for _, l := range lines[last+1:] {
		f := strings.Fields(l)
		switch strings.ToUpper(f[0]) {
		case "COPY":
			args, from := f[1:], ""
			for len(args) > 0 && strings.HasPrefix(args[0], "--") {
				if v, ok := strings.CutPrefix(args[0], "--from="); ok {
					from = v
				} else {
					return st, fmt.Errorf("COPY option %s is not understood by this test", args[0])
				}
				args = args[1:]
			}
			if len(args) < 2 {
				return st, fmt.Errorf("COPY needs a source and a destination: %q", l)
			}
			dest := args[len(args)-1]
			for _, src := range args[:len(args)-1] {
				if from != "" {
					d := dest
					if strings.HasSuffix(dest, "/") {
						d = dest + path.Base(src)
					}
					st.Files[d] = ""
					continue
				}
				local := filepath.Join(contextDir, src)
				err := filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					rel, _ := filepath.Rel(local, p)
					target := dest
					if rel != "." {
						target = path.Join(dest, filepath.ToSlash(rel))
					} else if strings.HasSuffix(dest, "/") {
						target = dest + path.Base(src)
					}
					st.Files[target] = p
					return nil
				})
				if err != nil {
					return st, fmt.Errorf("COPY %s: %v", src, err)
				}
			}
		case "USER":
			st.User = f[1]
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(strings.TrimSpace(l[len(f[0]):])), &st.Entrypoint); err != nil {
				return st, fmt.Errorf("ENTRYPOINT is not in exec form: %q", l)
			}
		default:
			return st, fmt.Errorf("instruction %q in the final stage is not understood by this test", f[0])
		}
	}
	return st, nil
}

// TestDockerfileMatchesImage checks that `make images`'s herald image and
// the Dockerfile's final stage hold the same files, user and entrypoint;
// that files from the build context have the same bytes in both; and that
// the binaries are static (no ELF interpreter: there is no libc in the
// image).
func TestDockerfileMatchesImage(t *testing.T) {
	root := testenv.ModuleRoot(t)
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stage, err := parseFinalStage(df, root)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	env := built(t)
	a, err := ociimage.Open(env["HERALD_ARCHIVE"])
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != env["HERALD_IMAGE"] {
		t.Errorf("archive's name = %q, images.env says %q", a.Name, env["HERALD_IMAGE"])
	}

	var imageFiles []string
	err = a.WalkLayer(func(h *tar.Header, r io.Reader) error {
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeLink {
			return nil
		}
		p := "/" + h.Name
		imageFiles = append(imageFiles, p)
		body, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		src, ok := stage.Files[p]
		switch {
		case !ok:
		case src != "":
			want, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			if !bytes.Equal(body, want) {
				t.Errorf("%s differs from %s, which the Dockerfile copies", p, src)
			}
		default:
			if h.Mode&0o111 == 0 {
				t.Errorf("%s is not executable (mode %o)", p, h.Mode)
			}
			ef, err := elf.NewFile(bytes.NewReader(body))
			if err != nil {
				t.Errorf("%s is not an ELF binary: %v", p, err)
				return nil
			}
			for _, prog := range ef.Progs {
				if prog.Type == elf.PT_INTERP {
					t.Errorf("%s is dynamically linked; the image has no libc", p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var dockerFiles []string
	for p := range stage.Files {
		dockerFiles = append(dockerFiles, p)
	}
	sort.Strings(dockerFiles)
	sort.Strings(imageFiles)
	if diff := cmp.Diff(dockerFiles, imageFiles); diff != "" {
		t.Errorf("files: Dockerfile's final stage (-) vs make images (+):\n%s", diff)
	}
	if got := a.Config.Config.User; got != stage.User {
		t.Errorf("user: make images %q, Dockerfile %q", got, stage.User)
	}
	if diff := cmp.Diff(stage.Entrypoint, a.Config.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint: Dockerfile (-) vs make images (+):\n%s", diff)
	}
	if len(a.Config.Config.Cmd) != 0 {
		t.Errorf("make images sets CMD %q; the Dockerfile sets none", a.Config.Config.Cmd)
	}
}

func TestParseFinalStage(t *testing.T) {
	ctx := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ctx, "skel", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"skel/etc/passwd", "skel/etc/group", "README"} {
		if err := os.WriteFile(filepath.Join(ctx, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, dockerfile string
		want             finalStage
		wantErr          string
	}{
		{
			name: "two stages",
			dockerfile: "FROM golang AS build\nRUN make\nCOPY . .\n\nFROM scratch\n# comment\nCOPY skel/etc/ /etc/\n" +
				"COPY --from=build /out/a /out/b /bin/\nCOPY --from=build /out/c \\\n  /c\nCOPY README /doc/\nUSER 1:2\nENTRYPOINT [\"/c\", \"x\"]\n",
			want: finalStage{
				Files: map[string]string{
					"/etc/passwd": filepath.Join(ctx, "skel/etc/passwd"), "/etc/group": filepath.Join(ctx, "skel/etc/group"),
					"/bin/a": "", "/bin/b": "", "/c": "", "/doc/README": filepath.Join(ctx, "README"),
				},
				User: "1:2", Entrypoint: []string{"/c", "x"},
			},
		},
		{name: "base image", dockerfile: "FROM gcr.io/distroless/static\nUSER 1\n", wantErr: "not FROM scratch"},
		{name: "unknown instruction", dockerfile: "FROM scratch\nENV A=b\n", wantErr: `"ENV"`},
		{name: "shell entrypoint", dockerfile: "FROM scratch\nENTRYPOINT /c\n", wantErr: "exec form"},
		{name: "copy option", dockerfile: "FROM scratch\nCOPY --chown=1 README /\n", wantErr: "--chown=1"},
		{name: "missing source", dockerfile: "FROM scratch\nCOPY nope /\n", wantErr: "COPY nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFinalStage([]byte(tc.dockerfile), ctx)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("final stage (-want +got):\n%s", diff)
			}
		})
	}
}
