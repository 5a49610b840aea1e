# dist/: what installs iovd on a host (systemd units, sysusers.d, tmpfiles.d, modules-load.d,
# shell completion), the man pages (docs/man/*.scd, scdoc) and the checks of all of it.
#   make man                      build/man/manN/PAGE.N
#   make install [PREFIX=/usr/local] [DESTDIR=]   (SYSTEMDDIR, SYSUSERSDIR, ... overridable)
#   make eco-test                 man pages, units, completion (bash, zsh), notify, install, CDI (~90 s)
#   make deb / make deb-test      the Debian package; deb-test installs and purges it (root)

MAN_PAGES := iovd.8 iovctl.8 iovm.1 iovd.conf.5
MAN_OUT   := $(foreach p,$(MAN_PAGES),$(BUILD)/man/man$(subst .,,$(suffix $(p)))/$(p))

$(BUILD)/man/man1/%.1: docs/man/%.1.scd dist/man-tidy.awk
	@mkdir -p $(dir $@)
	scdoc < $< | awk -f dist/man-tidy.awk > $@.tmp && mv $@.tmp $@
$(BUILD)/man/man5/%.5: docs/man/%.5.scd dist/man-tidy.awk
	@mkdir -p $(dir $@)
	scdoc < $< | awk -f dist/man-tidy.awk > $@.tmp && mv $@.tmp $@
$(BUILD)/man/man8/%.8: docs/man/%.8.scd dist/man-tidy.awk
	@mkdir -p $(dir $@)
	scdoc < $< | awk -f dist/man-tidy.awk > $@.tmp && mv $@.tmp $@

.PHONY: man
man: $(MAN_OUT)

PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/iovd
SYSCONFDIR  ?= /etc
# systemd reads units from /usr/local/lib/systemd/system too; sysusers.d, tmpfiles.d and
# modules-load.d only from /usr/lib (and /etc): packagers set PREFIX=/usr.
LIBDIR_SD   ?= $(PREFIX)/lib
SYSTEMDDIR  ?= $(LIBDIR_SD)/systemd/system
SYSUSERSDIR ?= $(LIBDIR_SD)/sysusers.d
TMPFILESDIR ?= $(LIBDIR_SD)/tmpfiles.d
MODLOADDIR  ?= $(LIBDIR_SD)/modules-load.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Debian's zsh looks in /usr/share/zsh/vendor-completions and /usr/local/share/zsh/site-functions.
ZSHCOMPDIR  ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/share/zsh/vendor-completions,$(PREFIX)/share/zsh/site-functions)
INSTALL     ?= install

.PHONY: install uninstall
install: $(PROGS) $(MAN_OUT)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(MODLOADDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	sed 's|/usr/bin/iovd|$(BINDIR)/iovd|' dist/systemd/iovd.service > $(DESTDIR)$(SYSTEMDDIR)/iovd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/iovd.service
	$(INSTALL) -m 0644 dist/systemd/iovd.socket $(DESTDIR)$(SYSTEMDDIR)/
	$(INSTALL) -m 0644 dist/sysusers.d/iovd.conf $(DESTDIR)$(SYSUSERSDIR)/iovd.conf
	$(INSTALL) -m 0644 dist/tmpfiles.d/iovd.conf $(DESTDIR)$(TMPFILESDIR)/iovd.conf
	$(INSTALL) -m 0644 dist/modules-load.d/iovd.conf $(DESTDIR)$(MODLOADDIR)/iovd.conf
	$(INSTALL) -m 0644 dist/completion/iovctl.bash $(DESTDIR)$(BASHCOMPDIR)/iovctl
	$(INSTALL) -m 0644 dist/completion/_iovctl $(DESTDIR)$(ZSHCOMPDIR)/_iovctl
	for p in $(MAN_OUT); do \
		s=$${p##*.}; $(INSTALL) -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	$(INSTALL) -m 0644 docs/iovd.md docs/iovm.md docs/verify.md docs/fleet.md $(DESTDIR)$(DOCDIR)/
	if [ -f docs/examples/iovd.json ]; then $(INSTALL) -d $(DESTDIR)$(DOCDIR)/examples && \
		$(INSTALL) -m 0644 docs/examples/iovd.json $(DESTDIR)$(DOCDIR)/examples/; fi
	@echo "installed under $(DESTDIR)$(PREFIX); on the host: systemd-sysusers; systemd-tmpfiles --create iovd.conf; systemctl daemon-reload; systemctl enable --now iovd.socket"

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,iovctl iovd iovm) \
		$(DESTDIR)$(SYSTEMDDIR)/iovd.service $(DESTDIR)$(SYSTEMDDIR)/iovd.socket \
		$(DESTDIR)$(SYSUSERSDIR)/iovd.conf $(DESTDIR)$(TMPFILESDIR)/iovd.conf \
		$(DESTDIR)$(MODLOADDIR)/iovd.conf $(DESTDIR)$(BASHCOMPDIR)/iovctl \
		$(DESTDIR)$(ZSHCOMPDIR)/_iovctl \
		$(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(p))
	rm -rf $(DESTDIR)$(DOCDIR)

# The checks: cheap, no test host; part of `make test`.
.PHONY: eco-test man-test units-test completion-test notify-test install-test
man-test: $(PROGS) $(MAN_OUT)
	tests/eco/man.sh $(BUILD)
units-test: $(PROGS) $(MAN_OUT)
	tests/eco/units.sh $(BUILD)
completion-test: $(BUILD)/iovctl
	tests/eco/completion.sh $(BUILD)
	tests/eco/completion.zsh $(BUILD)
notify-test: $(BUILD)/iovd
	tests/eco/notify.sh $(BUILD)
install-test: $(PROGS) $(MAN_OUT)
	tests/eco/install.sh $(BUILD)
# CDI specs and the sriovdp export: goldens, Debian's CDI library, iovd keeping the specs.
cdi-test: $(PROGS)
	tests/eco/cdi.sh $(BUILD)
.PHONY: cdi-test
# podman (Debian's) runs a container with iovd's CDI devices (a suite of its own in make test:
# it reports its skip, as root only and with podman installed).
podman-test: $(BUILD)/iovd
	tests/eco/podman.sh $(BUILD)
.PHONY: podman-test
# One after the other: install.sh runs make itself, which must not relink beside a test.
eco-test: $(PROGS) $(MAN_OUT)
	tests/eco/man.sh $(BUILD)
	tests/eco/units.sh $(BUILD)
	tests/eco/completion.sh $(BUILD)
	tests/eco/completion.zsh $(BUILD)
	tests/eco/notify.sh $(BUILD)
	tests/eco/install.sh $(BUILD)
	tests/eco/cdi.sh $(BUILD)

# The Debian package, built from a copy of the working tree (tracked and untracked files
# git does not ignore) under $(BUILD)/deb, so nothing lands beside the tree.
DEB_VERSION := $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE    := $(BUILD)/deb/iovd_$(DEB_VERSION)_$(DEB_ARCH).deb
.PHONY: deb deb-lint deb-test
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/iovd
	git ls-files -z -c -o --exclude-standard | \
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C $(BUILD)/deb/iovd -xf -
	cd $(BUILD)/deb/iovd && DEB_BUILD_OPTIONS="parallel=2 $(DEB_BUILD_OPTIONS)" \
		dpkg-buildpackage -b -us -uc > ../build.log 2>&1 || { tail -30 ../build.log; exit 1; }
	@ls -l $(DEB_FILE)
# lintian on the package: fails on any error or warning not overridden (each override in
# debian/iovd.lintian-overrides says why).
deb-lint: deb
	lintian --fail-on error,warning --info $(BUILD)/deb/iovd_$(DEB_VERSION)_$(DEB_ARCH).changes
# Installs the package on this machine with dpkg -i, checks it, purges it and checks that
# nothing is left. Root only, and only with IOV_DEB_TEST=1 (it changes this machine).
deb-test: deb
	tests/eco/deb-test.sh $(DEB_FILE)
