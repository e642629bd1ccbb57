#!/usr/bin/env bash
# Plots what tests/bench/dispatcher.sh measured, like the study's figures (gnuplot, SVG).
#
#   RESULTS=r.tsv tests/bench/dispatcher.sh build     # the benchmark writes its points there
#   tests/bench/plot.sh r.tsv OUTDIR                   # then: OUTDIR/mixed.svg, firewall.svg, lb.svg,
#                                                      # conntrack.svg
#
# r.tsv: one line per point, "POINT<TAB>MIN<TAB>MEDIAN<TAB>MAX" in Mpps. A figure is drawn when
# the run measured its points: mixed (Figure 21: Mpps against the drop share, one line per
# placement profile), firewall (Figure 8: drop rules against their number, exact and prefix in
# XDP, exact in user space), lb (Figure 15: the load balancer in XDP and in user space against sessions),
# conntrack (the stateful firewall tracked in XDP and in user space, and stateless forwarding). Bars
# span the windows' min and max; the line goes through the medians.
# Needs gnuplot (Debian: apt-get install gnuplot-nox).
set -Eeuo pipefail
export LC_ALL=C
[[ $# == 2 && -r $1 ]] || { echo "usage: plot.sh RESULTS.tsv OUTDIR" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
results=$1
out=$2
mkdir -p "$out"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

# series NAME REGEX: "X MIN MED MAX" for the points whose name matches REGEX, whose first
# group is X (K and M expanded).
series() {
    local name mn md mx x
    while IFS=$'\t' read -r name mn md mx; do
        [[ $name =~ $2 ]] || continue
        x=${BASH_REMATCH[1]%\%}
        case $x in
        *K) x=$((${x%K} * 1000)) ;;
        *M) x=$((${x%M} * 1000000)) ;;
        esac
        echo "$x $mn $md $mx"
    done <"$results" | sort -g >"$data/$1"
    [[ -s $data/$1 ]]
}
plot() { # FILE TITLE XLABEL LOGX SERIES:TITLE...
    local file=$1 title=$2 xlabel=$3 logx=$4 spec=() s
    shift 4
    for s in "$@"; do
        spec+=("'$data/${s%%:*}' using 1:3:2:4 with yerrorlines title '${s#*:}'")
    done
    gnuplot <<EOF
set terminal svg size 720,420 dynamic noenhanced font "sans,12"
set output '$out/$file'
set title '$title'
set xlabel '$xlabel'
set ylabel 'Mpps (median, min-max)'
set yrange [0:*]
set key top left
set grid
$([[ $logx == log ]] && echo "set logscale x 10" || echo "set xrange [-5:105]")
plot $(IFS=,; echo "${spec[*]}")
EOF
    echo "plot.sh: $out/$file"
}

lines=()
for p in all-user hybrid all-xdp adaptive calibrated; do
    series "mixed-$p" "^mixed: $p D=([0-9]+%)\$" && lines+=("mixed-$p:$p")
done
((${#lines[@]})) && plot mixed.svg "Mixed drop / pass-through chain (veth, 20 flows)" \
    "share of the traffic dropped by rules (%)" lin "${lines[@]}"

lines=()
for k in exact prefix; do
    series "fw-$k" "^swd drop $k R=([0-9]+[KM]?)\$" && lines+=("fw-$k:$k rules in XDP")
done
series fw-user "^swd drop user R=([0-9]+[KM]?)\$" && lines+=("fw-user:exact rules in user space (AF_XDP)")
series fw-cal "^fw: swd calibrated R=([0-9]+[KM]?)\$" && lines+=("fw-cal:exact rules, calibrated")
series fw-min "^min drop F=(1)\$" && lines+=("fw-min:minimal XDP_DROP")
((${#lines[@]})) && plot firewall.svg "Firewall: drop rules" "rules" log "${lines[@]}"

lines=()
series lb-xdp "^lb: swd all-xdp S=([0-9]+[KM]?)\$" && lines+=("lb-xdp:XDP (all-xdp)")
series lb-user "^lb: swd hybrid S=([0-9]+[KM]?)\$" && lines+=("lb-user:AF_XDP user space (hybrid)")
series lb-cal "^lb: swd calibrated S=([0-9]+[KM]?)\$" && lines+=("lb-cal:calibrated")
((${#lines[@]})) && plot lb.svg "Load balancer" "sessions" log "${lines[@]}"

lines=()
for p in all-xdp hybrid; do
    series "ct-$p" "^ct: $p C=([0-9]+[KM]?)\$" && lines+=("ct-$p:tracked, $p")
    series "ct-$p-none" "^ct: $p stateless C=([0-9]+[KM]?)\$" && lines+=("ct-$p-none:stateless, $p")
done
((${#lines[@]})) && plot conntrack.svg "Stateful firewall: tracked connections forwarded" \
    "connections" log "${lines[@]}"
exit 0
