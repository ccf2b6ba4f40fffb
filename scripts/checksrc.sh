#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# checksrc (STYLE.md B12), in the spirit of curl's: banned functions, heap
# calls that bypass src/base/mem.c, the SPDX first line, and 80 columns with
# tabs of 8, over the .c and .h files of src/ include/ tests/ fuzz/ bench/.
#
# usage: scripts/checksrc.sh [FILE...]   (default: all of those files)
# Prints FILE:LINE: problem for each finding; exits 1 when there is one.
set -euo pipefail

cd "$(dirname "$0")/.."

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	dirs=()
	for d in src include tests fuzz bench; do
		[ -d "$d" ] && dirs+=("$d")
	done
	[ ${#dirs[@]} -gt 0 ] &&
		mapfile -t files < <(find "${dirs[@]}" -type f \
			\( -name '*.c' -o -name '*.h' \) | sort)
fi
if [ ${#files[@]} -eq 0 ]; then
	echo "checksrc: no source file to check"
	exit 0
fi

exec perl -e '
use strict;
use warnings;

my %banned = (
	strcpy   => "buf_append() or memcpy() with a checked length",
	strcat   => "buf_append()",
	strncpy  => "buf_append() or memcpy() with a checked length",
	sprintf  => "snprintf() or buf_printf()",
	vsprintf => "vsnprintf() or buf_vprintf()",
	strtok   => "a scan cursor (base.h)",
	atoi     => "slice_u32() or scan_u32()",
	atol     => "slice_u32(), scan_u64() or strtol() with checks",
	sscanf   => "a scan cursor (base.h)",
	gets     => "fgets()",
);
my $banned_re = join "|", sort keys %banned;
my $heap_re = qr/(?<![\w.])(?<!->)(malloc|calloc|realloc|free)\s*\(/;
my $found = 0;

sub report {
	my ($file, $line, $msg) = @_;
	print "$file:$line: $msg\n";
	$found++;
}

# Blank out comments and string and character literals, so a comment that
# says "never sprintf()" is not a finding. $$state carries a comment that
# runs on to the next line.
sub code_only {
	my ($line, $state) = @_;
	my $out = "";
	my $i = 0;
	my $n = length $line;

	while ($i < $n) {
		my $c = substr($line, $i, 1);
		my $two = substr($line, $i, 2);
		if ($$state) {
			if ($two eq "*/") {
				$$state = 0;
				$out .= "  ";
				$i += 2;
			} else {
				$out .= " ";
				$i++;
			}
		} elsif ($two eq "/*") {
			$$state = 1;
			$out .= "  ";
			$i += 2;
		} elsif ($two eq "//") {
			last;
		} elsif ($c eq "\"" || $c eq "\x27") {
			my $q = $c;
			$out .= $q;
			$i++;
			while ($i < $n && substr($line, $i, 1) ne $q) {
				$i++ if substr($line, $i, 1) eq "\\";
				$out .= " ";
				$i++;
			}
			$out .= $q;
			$i++;
		} else {
			$out .= $c;
			$i++;
		}
	}
	return $out;
}

for my $file (@ARGV) {
	my $fh;
	unless (open $fh, "<", $file) {
		report($file, 0, "cannot read: $!");
		next;
	}
	my @lines = <$fh>;
	close $fh;

	# base/mem.c is the one allocator; bench/ drives peer libraries that
	# hand out memory of their own
	my $heap_ok = $file =~ m{(^|/)src/base/mem\.c$} ||
		$file =~ m{(^|/)bench/};

	if (!@lines ||
	    $lines[0] !~ m{^/\* SPDX-License-Identifier: \S.* \*/\r?$}) {
		report($file, 1, "first line must be " .
			"/* SPDX-License-Identifier: BSD-3-Clause */");
	}

	my $in_comment = 0;
	for my $i (0 .. $#lines) {
		my $raw = $lines[$i];
		$raw =~ s/\r?\n\z//;

		my $text = $raw;
		utf8::decode($text);	# count characters, not UTF-8 bytes
		my $col = 0;
		for my $ch (split //, $text) {
			$col = $ch eq "\t" ? ($col + 8) & ~7 : $col + 1;
		}
		report($file, $i + 1, "line is $col columns, over 80")
			if $col > 80;

		my $code = code_only($raw, \$in_comment);
		next if $code =~ /^\s*#\s*(include|pragma)\b/;
		while ($code =~ /(?<![\w.])(?<!->)($banned_re)\s*\(/g) {
			report($file, $i + 1,
				"banned $1(): use $banned{$1}");
		}
		next if $heap_ok;
		while ($code =~ /$heap_re/g) {
			report($file, $i + 1, "direct $1(): use mem_" .
				($1 eq "calloc" ? "zalloc" :
				 $1 eq "malloc" ? "alloc" : $1) .
				"() from base/base.h");
		}
	}
}

if ($found) {
	print "checksrc: $found problem(s) in ", scalar(@ARGV), " file(s)\n";
	exit 1;
}
print "checksrc: ", scalar(@ARGV), " file(s) clean\n";
' -- "${files[@]}"
