package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/smpkit/smpkit/internal/qr"
	"github.com/smpkit/smpkit/reference/chat"
)

// Moving a profile to another device (spec/chat.md, CH-DEV-*): on the old
// one, /migrate to device writes the active profile's archive, encrypted,
// to a file and shows the link that carries its key, as text and as a QR
// code; on the new one, smp-chat --migrate LINK --migrate-archive FILE
// imports it into its data directory. The archive and the link travel
// separately: either alone is of no use.

// defaultArchive is where the archive goes (in the working directory)
// when no file is named.
const defaultArchive = "smp-chat-migration.archive"

// migrateIntro is the line before the migration link.
const migrateIntro = "to take this profile to the other device, run there (with the archive copied to it):"

// migrateCommand reports whether line is /migrate to device [FILE], and
// the file.
func migrateCommand(line string) (file string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "/migrate to device")
	if !ok || (rest != "" && rest[0] != ' ') {
		return "", false
	}
	if file = strings.TrimSpace(rest); file == "" {
		file = defaultArchive
	}
	return file, true
}

// exportProfile moves the active profile out: after it the profile runs
// only on the device that imports it, so smp-chat stops. An error leaves
// the profile here, running.
func exportProfile(ctx context.Context, o options, c *chat.Client, file string, out *console) error {
	u, err := c.ActiveUser(ctx)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("archive: %w (choose another file: /migrate to device FILE)", err)
	}
	link, err := c.ExportProfile(ctx, u.ID, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return fmt.Errorf("export: %w", err)
	}
	out.line("profile %s is exported with its contacts, groups and history to %s", u.Profile.DisplayName, file)
	out.line("%s", migrateIntro)
	out.line("")
	out.line("smp-chat --migrate '%s' --migrate-archive %s", link, file)
	out.line("")
	out.line("the link is the archive's key: send it apart from the archive, or scan its QR code:")
	if !o.noQR {
		if ls, err := qr.Terminal(link); err == nil {
			out.lines("", ls)
		}
	}
	if o.qrPNG != "" {
		if err := qr.WritePNG(o.qrPNG, link); err != nil {
			out.line("cannot save the QR code: %v", err)
		} else {
			out.line("QR code saved to %s", o.qrPNG)
		}
	}
	out.line("%s now lives on the other device: it never runs here again; smp-chat stops", u.Profile.DisplayName)
	return nil
}

// importProfile takes in the profile of o.migrate's link and archive.
func importProfile(ctx context.Context, o options, c *chat.Client, out *console) error {
	file := o.migrateArchive
	if file == "" {
		file = defaultArchive
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("--migrate: archive: %w (name it with --migrate-archive FILE)", err)
	}
	defer f.Close()
	u, err := c.ImportProfile(ctx, f, o.migrate)
	if err != nil {
		if errors.Is(err, chat.ErrArchive) {
			return fmt.Errorf("--migrate: %s is not the archive of this link (nothing was imported)", file)
		}
		return fmt.Errorf("--migrate: %w (nothing was imported)", err)
	}
	out.line("profile %s is imported with its contacts, groups and history", u.Profile.DisplayName)
	if !u.Active {
		out.line("to use it: /user %s", u.Profile.DisplayName)
	}
	out.line("delete %s now: it is no longer needed", file)
	return nil
}

// movedNotice says so when the profiles here were moved away.
func movedNotice(ctx context.Context, c *chat.Client, out *console) {
	us, err := c.Users(ctx)
	if err != nil || len(us) == 0 {
		return
	}
	var moved []string
	for _, u := range us {
		if u.Active && !u.Moved {
			return
		}
		if u.Moved {
			moved = append(moved, u.Profile.DisplayName)
		}
	}
	if len(moved) > 0 {
		out.line("moved to another device, no longer run here: %s", strings.Join(moved, ", "))
		out.line("to chat here: /create user NAME, or /user NAME of another profile")
		out.line("(if its archive was never imported: /migrate take back NAME)")
	}
}

// takeBackCommand reports whether line is /migrate take back NAME.
func takeBackCommand(line string) (name string, ok bool) {
	name, ok = strings.CutPrefix(strings.TrimSpace(line), "/migrate take back ")
	name = strings.Trim(strings.TrimSpace(name), "'")
	return name, ok && name != ""
}

// takeBack runs a moved profile here again (chat.TakeBackProfile): only
// for an archive that no other device imported, or both break.
func takeBack(ctx context.Context, c *chat.Client, name string, out *console) error {
	us, err := c.Users(ctx)
	if err != nil {
		return err
	}
	for _, u := range us {
		if u.Profile.DisplayName != name {
			continue
		}
		if !u.Moved {
			return fmt.Errorf("%s was not moved away", name)
		}
		if err := c.TakeBackProfile(ctx, u.ID); err != nil {
			return fmt.Errorf("take back: %w", err)
		}
		out.line("%s runs here again (use the archive nowhere else now); to use it: /user %s", name, name)
		return nil
	}
	return fmt.Errorf("no profile %s", name)
}
