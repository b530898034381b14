using System.Globalization;
using System.Text;
using NetDiag.Entities;

namespace NetDiag.Operator.Remediation;

/// <summary>
/// The shell scripts a node remediation Job runs (<c>/bin/sh -c</c> in the probe image), pure.
/// <list type="bullet">
/// <item>Runtime values are written straight to <c>/proc/sys</c> (the container shares the host's
/// network namespace, and is privileged so <c>/proc/sys</c> is writable): no procps needed.</item>
/// <item>Kernel modules load with the host's own modprobe and modules (<c>chroot $ROOT modprobe</c>):
/// the image needs no kmod and no copy of the host's /lib/modules.</item>
/// <item>Persistence is a drop-in under the host's <c>/etc/sysctl.d</c> named <c>99-zz-netdiag-*.conf</c>
/// (sorts after every 99-*.conf a distribution ships, so it wins at boot), one file per action so
/// concurrent Jobs never write the same file; written to a temp name and renamed (atomic).
/// Modules are persisted in <c>/etc/modules-load.d</c>, which systemd loads before sysctl runs.</item>
/// <item>Idempotent: a value already at target is not written; files are rewritten with the same
/// content. Every script logs the value before and after (the "previous state" of a node action).</item>
/// </list>
/// Only constants and integers the operator computed are interpolated: no finding text reaches a shell.
/// The host root is <c>$NETDIAG_HOST_ROOT</c> (default <c>/host</c>), so the lab can run the same
/// script against a node's root folder.
/// </summary>
public static class NodeRemediationScripts
{
    public const string HostRootVariable = "NETDIAG_HOST_ROOT";
    public const string DefaultHostRoot = "/host";
    public const string IpForwardDropIn = "/etc/sysctl.d/99-zz-netdiag-ip_forward.conf";
    public const string BridgeDropIn = "/etc/sysctl.d/99-zz-netdiag-bridge-nf-call.conf";
    public const string BridgeModuleFile = "/etc/modules-load.d/netdiag-br_netfilter.conf";
    public const string ConntrackDropIn = "/etc/sysctl.d/99-zz-netdiag-conntrack.conf";
    public const string ConntrackModuleFile = "/etc/modules-load.d/netdiag-nf_conntrack.conf";

    private const string Prelude = """
        set -eu
        root="${NETDIAG_HOST_ROOT:-/host}"
        # persist FILE LINE...: write FILE under the host root atomically (temp file, then rename).
        persist() {
          target="$root$1"; shift
          mkdir -p "$(dirname "$target")"
          tmp="$(dirname "$target")/.netdiag.$$.tmp"
          printf '%s\n' "$@" > "$tmp"
          mv -f "$tmp" "$target"
        }
        # setval PATH VALUE: write VALUE to a /proc/sys file unless it already holds it.
        setval() {
          if [ "$(cat "$1")" != "$2" ]; then echo "$2" > "$1"; fi
        }

        """;

    /// <summary>The script for a node action; null for actions that are not node actions.</summary>
    public static string? For(string action, long? conntrackTarget = null) => action switch
    {
        ActionNames.EnableIpForward => EnableIpForward(),
        ActionNames.EnableBridgeNetfilter => EnableBridgeNetfilter(),
        ActionNames.RaiseConntrackMax when conntrackTarget is > 0 => RaiseConntrackMax(conntrackTarget.Value),
        _ => null,
    };

    public static string EnableIpForward() => Prelude + $$"""
        f=/proc/sys/net/ipv4/ip_forward
        before="$(cat "$f")"
        setval "$f" 1
        persist {{IpForwardDropIn}} '# Written by netdiag (enableIpForward): pod traffic needs forwarding. Sorts last so it wins at boot.' 'net.ipv4.ip_forward = 1'
        echo "netdiag enableIpForward: net.ipv4.ip_forward $before -> $(cat "$f"); persisted in {{IpForwardDropIn}}"
        """;

    public static string EnableBridgeNetfilter() => Prelude + $$"""
        d=/proc/sys/net/bridge
        if [ ! -e "$d/bridge-nf-call-iptables" ]; then
          echo "netdiag enableBridgeNetfilter: br_netfilter not loaded; loading it with the host's modprobe"
          chroot "$root" modprobe br_netfilter
        fi
        before="$(cat "$d/bridge-nf-call-iptables")"
        setval "$d/bridge-nf-call-iptables" 1
        if [ -e "$d/bridge-nf-call-ip6tables" ]; then setval "$d/bridge-nf-call-ip6tables" 1; fi
        persist {{BridgeModuleFile}} '# Written by netdiag (enableBridgeNetfilter)' br_netfilter
        persist {{BridgeDropIn}} '# Written by netdiag (enableBridgeNetfilter): bridged pod traffic must pass iptables.' 'net.bridge.bridge-nf-call-iptables = 1' 'net.bridge.bridge-nf-call-ip6tables = 1'
        echo "netdiag enableBridgeNetfilter: net.bridge.bridge-nf-call-iptables $before -> $(cat "$d/bridge-nf-call-iptables"); persisted in {{BridgeModuleFile}} and {{BridgeDropIn}}"
        """;

    /// <summary>Raises nf_conntrack_max to at least <paramref name="target"/>; never lowers it.</summary>
    public static string RaiseConntrackMax(long target)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(target);
        var t = target.ToString(CultureInfo.InvariantCulture);
        return Prelude + $$"""
            f=/proc/sys/net/netfilter/nf_conntrack_max
            if [ ! -e "$f" ]; then chroot "$root" modprobe nf_conntrack; fi
            before="$(cat "$f")"
            want={{t}}
            if [ "$before" -lt "$want" ]; then echo "$want" > "$f"; fi
            # Persist what is in force now, which may be more than asked if someone raised it since.
            now="$(cat "$f")"
            persist {{ConntrackModuleFile}} '# Written by netdiag (raiseConntrackMax): loaded before sysctl applies the limit' nf_conntrack
            persist {{ConntrackDropIn}} '# Written by netdiag (raiseConntrackMax)' "net.netfilter.nf_conntrack_max = $now"
            echo "netdiag raiseConntrackMax: net.netfilter.nf_conntrack_max $before -> $now; persisted in {{ConntrackDropIn}}"
            """;
    }

    /// <summary>The sysctl a node action sets, for the previous-value annotation on its Job.</summary>
    public static string? SysctlOf(string action) => action switch
    {
        ActionNames.EnableIpForward => "net.ipv4.ip_forward",
        ActionNames.EnableBridgeNetfilter => "net.bridge.bridge-nf-call-iptables",
        ActionNames.RaiseConntrackMax => "net.netfilter.nf_conntrack_max",
        _ => null,
    };

    public static bool IsNodeAction(string action) => SysctlOf(action) is not null;
}
