# shellcheck shell=bash
# Installs the freshly built project from the 9p share, as
# `make install DESTDIR=` laid it out, and makes systemd, udev and the
# journal's catalog see it (what a package's postinst would do).
install_project() {
	cp -a "$1/root/." / &&
		systemctl daemon-reload &&
		udevadm control --reload &&
		journalctl --update-catalog &&
		systemctl preset nvmf-raid.target
}
