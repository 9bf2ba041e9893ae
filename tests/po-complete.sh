#!/usr/bin/env bash
# po-complete.sh SRCDIR: every translatable string of the plug-in's sources
# (po/POTFILES.in, keywords _ and N_) has a translation in every catalog
# of po/LINGUAS, none fuzzy, none left over from strings that are gone.
set -euo pipefail
src=$1
cd "$src"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --add-comments -o "$tmp/crsae.pot" \
    $(grep -v '^#' po/POTFILES.in)
fails=0
for lang in $(grep -v '^#' po/LINGUAS); do
    msgmerge --quiet --no-fuzzy-matching -o "$tmp/$lang.po" "po/$lang.po" "$tmp/crsae.pot"
    missing=$(msgattrib --untranslated --no-obsolete "$tmp/$lang.po" | grep -c '^msgid ' || true)
    fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$tmp/$lang.po" | grep -c '^msgid ' || true)
    stale=$(msgattrib --only-obsolete "$tmp/$lang.po" | grep -c '^#~ msgid ' || true)
    total=$(grep -c '^msgid ' "$tmp/crsae.pot")
    # the header counts as one msgid in each listing that has entries
    [ "$missing" -gt 0 ] && missing=$((missing - 1))
    [ "$fuzzy" -gt 0 ] && fuzzy=$((fuzzy - 1))
    echo "$lang: $((total - 1)) strings, $missing untranslated, $fuzzy fuzzy, $stale no longer used"
    if [ "$missing" -ne 0 ] || [ "$fuzzy" -ne 0 ] || [ "$stale" -ne 0 ]; then
        msgattrib --untranslated --no-obsolete "$tmp/$lang.po" | grep '^msgid ' | tail -n +2 || true
        msgattrib --only-obsolete "$tmp/$lang.po" | grep '^#~ msgid ' || true
        fails=1
    fi
done
exit $fails
