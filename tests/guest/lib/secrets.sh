# shellcheck shell=bash
# Issue 14, item 3: secrets (DH-HMAC-CHAP keys, TLS PSKs) are nowhere but
# in their files or the kernel's keyring.  Source after common.sh.
#
#   mem_has_key PID PATTERNS     one of the secrets in file PATTERNS (a line
#                                each) is in the memory of process PID
#   assert_no_key_leak WHEN VOL PATTERNS
#                                none of them is anywhere nvmf-raid writes
#                                or shows, nor in the monitor's memory

# mem_has_key PID PATTERNS : its readable mappings, through /proc/PID/mem.
mem_has_key() {
	py3 - "$1" "$2" <<-'PY'
	import sys
	pid, pat = sys.argv[1], sys.argv[2]
	keys = [l.strip().encode() for l in open(pat) if l.strip()]
	with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
	    for line in maps:
	        span, perms = line.split()[:2]
	        if "r" not in perms:
	            continue
	        lo, hi = (int(x, 16) for x in span.split("-"))
	        try:
	            mem.seek(lo)
	            data = mem.read(hi - lo)
	        except (OSError, ValueError, OverflowError):
	            continue
	        if any(k in data for k in keys):
	            sys.exit(0)
	sys.exit(1)
	PY
}

# assert_no_key_leak WHEN VOL PATTERNS : the secrets in file PATTERNS are
# not in VOL's descriptor or in-sync record, its status (text, JSON), the
# journal, a process's argv or environment, the generator's output, nor the
# memory of VOL's monitor (which reads no secret itself; its reconnect
# children do, and end).  grep takes them from the file: in its argv they
# would be found.
assert_no_key_leak() {
	local when=$1 vol=$2 pat=$3 found=() f pid
	for f in "/run/nvmf-raid/$vol.json" "/var/lib/nvmf-raid/$vol.json"; do
		[ -e "$f" ] && grep -qFf "$pat" "$f" && found+=("$f")
	done
	nvmf-raid status "$vol" > /tmp/leak-status.txt 2>&1
	nvmf-raid status --json "$vol" > /tmp/leak-status.json 2>&1
	grep -qFf "$pat" /tmp/leak-status.txt && found+=("status")
	grep -qFf "$pat" /tmp/leak-status.json && found+=("status --json")
	journalctl -b --no-pager -o verbose | grep -qFf "$pat" && found+=("journal")
	cat /proc/[0-9]*/cmdline 2> /dev/null | tr '\0' '\n' | grep -qFf "$pat" && found+=("argv")
	cat /proc/[0-9]*/environ 2> /dev/null | tr '\0' '\n' | grep -qFf "$pat" && found+=("environment")
	grep -rqFf "$pat" /run/systemd/generator* 2> /dev/null && found+=("generator output")
	pid=$(systemctl show -P MainPID "nvmf-raid-monitor@$vol")
	[ "${pid:-0}" != 0 ] && mem_has_key "$pid" "$pat" && found+=("monitor memory")
	echo "$when: the secrets found in: ${found[*]:-nothing}"
	assertEquals "$when: the secrets are nowhere but in their files" "" "${found[*]}"
}
