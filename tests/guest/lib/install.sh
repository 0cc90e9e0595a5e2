# shellcheck shell=bash
# Installs the project from the 9p share: the package (deb/, as an admin
# does: apt install ./nvmf-raid_*.deb; its maintainer scripts reload systemd
# and udev and update the catalog), or else the tree `make install DESTDIR=`
# laid out, followed by what a package's postinst would do.
install_project() {
	local deb
	for deb in "$1"/deb/nvmf-raid_*_amd64.deb; do
		[ -e "$deb" ] || break
		# The guest has no network: the image holds every dependency,
		# so apt downloads nothing.
		cp "$deb" /tmp/ &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/${deb##*/}" &&
			echo "guest: installed $(dpkg-query -W -f '${Package} ${Version}' nvmf-raid) from ${deb##*/}"
		return
	done
	cp -a "$1/root/." / &&
		systemctl daemon-reload &&
		udevadm control --reload &&
		journalctl --update-catalog &&
		systemctl preset nvmf-raid.target
}
