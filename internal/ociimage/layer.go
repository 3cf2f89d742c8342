package ociimage

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// writeLayer writes dir's tree to w as a tar stream: entries in lexical
// order (parents before children), names relative to the root with no
// leading slash, directories ending in "/", one fixed mtime, owners and
// modes from own. Hard-linked files become tar hard links to their first
// path. Device nodes, FIFOs and sockets are left out (the runtime provides
// /dev).
func writeLayer(w io.Writer, dir string, own Ownership, mtime time.Time) error {
	tw := tar.NewWriter(w)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:    rel,
			ModTime: mtime,
		}
		switch {
		case info.Mode().IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case info.Mode()&fs.ModeSymlink != 0:
			hdr.Typeflag = tar.TypeSymlink
			if hdr.Linkname, err = os.Readlink(path); err != nil {
				return fmt.Errorf("reading link %s: %w", path, err)
			}
		case info.Mode().IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = info.Size()
		default:
			return nil // device, FIFO or socket
		}
		attr := attrFor("/"+rel, info, own)
		hdr.Uid, hdr.Gid = attr.UID, attr.GID
		hdr.Mode = unixMode(attr.Mode)
		if st, ok := info.Sys().(*syscall.Stat_t); ok && hdr.Typeflag == tar.TypeReg && st.Nlink > 1 {
			key := inode{uint64(st.Dev), uint64(st.Ino)}
			if first, ok := seen[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				seen[key] = rel
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing tar header for %s: %w", rel, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		return copyFile(tw, path, hdr.Size)
	})
	if err != nil {
		return fmt.Errorf("adding %s to the layer: %w", dir, err)
	}
	return tw.Close()
}

func copyFile(w io.Writer, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("copying %s: %w", path, err)
	}
	if n != size {
		return fmt.Errorf("copying %s: file shrank from %d to %d bytes while it was read", path, size, n)
	}
	return nil
}

// attrFor applies own to one entry whose source is described by info.
func attrFor(imagePath string, info fs.FileInfo, own Ownership) Attr {
	a := defaultAttr(info, own)
	if o, ok := own.Override[imagePath]; ok {
		a.Mode = o.Mode
		if o.UID >= 0 {
			a.UID = o.UID
		}
		if o.GID >= 0 {
			a.GID = o.GID
		}
	}
	return a
}

func defaultAttr(info fs.FileInfo, own Ownership) Attr {
	if own.Keep {
		a := Attr{Mode: info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			a.UID, a.GID = int(st.Uid), int(st.Gid)
		}
		return a
	}
	a := Attr{UID: own.UID, GID: own.GID}
	switch {
	case info.IsDir():
		a.Mode = 0o755
	case info.Mode()&fs.ModeSymlink != 0:
		a.Mode = 0o777
	case info.Mode()&0o111 != 0:
		a.Mode = 0o755
	default:
		a.Mode = 0o644
	}
	return a
}

// unixMode turns Go's permission, setuid, setgid and sticky bits into the
// octal mode a tar header holds.
func unixMode(m fs.FileMode) int64 {
	u := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// fromUnixMode is unixMode's inverse.
func fromUnixMode(u int64) fs.FileMode {
	m := fs.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}
