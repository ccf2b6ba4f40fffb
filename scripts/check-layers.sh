#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# check-layers (STYLE.md B1): every #include in src/<module>/ and
# include/sipcert/ must point down the layer table below. Prints
# FILE:LINE: problem for each violation; exits 1 when there is one.
#
# usage: scripts/check-layers.sh [-v]   (-v also prints the table in force)
set -euo pipefail

cd "$(dirname "$0")/.."

exec perl -e '
use strict;
use warnings;

my $verbose = @ARGV && $ARGV[0] eq "-v";

# B1 as built (docs/architecture.md): the SIP core is pure and sits low,
# net frames streams with it, txn sits on net. The modules each module
# may include directly; what those may include
# is allowed too, except for cli, which sees only the public API and base.
my %direct = (
	base     => [],
	crypto   => [qw(base)],
	sip      => [qw(base)],
	identity => [qw(sip crypto)],
	store    => [qw(base)],
	loop     => [qw(base)],
	net      => [qw(base loop crypto sip)],
	txn      => [qw(net sip loop)],
	dns      => [qw(base loop net)],
	http     => [qw(base net loop dns)],
	cred     => [qw(txn identity store loop crypto)],
	ua       => [qw(base crypto sip identity loop net dns txn http)],
	lib      => [qw(base crypto sip identity store loop net dns txn http
			cred ua)],
	daemon   => [qw(base crypto sip identity store loop net dns txn http
			cred)],
	cli      => [qw(base)],
);
# The third-party libraries each module uses itself (B1, DESIGN.md); the
# modules above it inherit them.
my %direct_libs = (
	loop   => [qw(libevent)],
	net    => [qw(libevent openssl)],
	dns    => [qw(c-ares)],
	crypto => [qw(openssl)],
	sip    => [qw(openssl)],
	http   => [qw(jansson)],
	store  => [qw(sqlite libpq)],
	lib    => [qw(jansson)],
	daemon => [qw(inih jansson)],
	cli    => [qw(jansson)],
);
my @lib_headers = (
	[qr{^openssl/}                       => "openssl"],
	[qr{^(event2/|evhttp\.h$|event\.h$)} => "libevent"],
	[qr{^ares(_\w+)?\.h$}                => "c-ares"],
	[qr{^sqlite3\.h$}                    => "sqlite"],
	[qr{^(libpq-fe\.h|postgresql/)}      => "libpq"],
	[qr{^ini\.h$}                        => "inih"],
	[qr{^jansson\.h$}                    => "jansson"],
);
# base may wipe and compare secrets with OpenSSL (B4) and nothing more
my %base_exception = ("openssl/crypto.h" => 1);
# only these may include the public API
my %public_users = (lib => 1, cli => 1);

my (%allowed, %libs);
sub closure {
	my ($m, $seen) = @_;
	for my $d (@{$direct{$m}}) {
		next if $seen->{$d}++;
		closure($d, $seen) unless $m eq "cli";
	}
	return $seen;
}
for my $m (keys %direct) {
	$allowed{$m} = closure($m, {});
	my %l = map { $_ => 1 } @{$direct_libs{$m} || []};
	if ($m ne "cli") {
		$l{$_} = 1 for map { @{$direct_libs{$_} || []} }
			keys %{$allowed{$m}};
	}
	$libs{$m} = \%l;
}
if ($verbose) {
	for my $m (sort keys %direct) {
		printf "%-9s modules: %s; libraries: %s\n", $m,
			join(" ", sort keys %{$allowed{$m}}) || "-",
			join(" ", sort keys %{$libs{$m}}) || "libc";
	}
}

my ($problems, $n_files) = (0, 0);
sub report {
	my ($where, $msg) = @_;
	print "$where: $msg\n";
	$problems++;
}

# src/<module>/... and include/sipcert/...
my @files;
for my $dir ("src", "include") {
	next unless -d $dir;
	open my $fh, "-|", "find", $dir, "-type", "f", "(", "-name", "*.c",
		"-o", "-name", "*.h", ")" or die "find: $!";
	push @files, map { chomp; $_ } <$fh>;
	close $fh;
}
my %unknown_reported;

for my $file (sort @files) {
	my ($module, $public);
	if ($file =~ m{^src/([^/]+)/}) {
		$module = $1;
		unless ($direct{$module}) {
			report("src/$module", "module \"$module\" is not in " .
				"the layer table of scripts/check-layers.sh " .
				"(STYLE.md B1)")
				unless $unknown_reported{$module}++;
			next;
		}
	} elsif ($file =~ m{^include/sipcert/}) {
		$public = 1;
	} elsif ($file =~ m{^src/}) {
		report($file, "source outside a module folder (STYLE.md B1)");
		next;
	} else {
		next;	# headers under include/ beside sipcert/ are not ours
	}
	$n_files++;
	(my $dir = $file) =~ s{/[^/]*$}{};
	# unit tests and their helpers (x_test.c, testutil.h) may use tests/
	my $is_test = $file =~ m{(_test\.[ch]|/test\w*\.[ch])$};

	my $fh;
	unless (open $fh, "<", $file) {
		report($file, "cannot read: $!");
		next;
	}
	my $ln = 0;
	while (my $line = <$fh>) {
		$ln++;
		next unless $line =~ /^\s*#\s*include\s*([<"])([^>"]+)[>"]/;
		my ($quote, $inc) = ($1, $2);
		my $where = "$file:$ln";
		my ($first) = $inc =~ m{^([^/]+)/};
		$first //= "";

		if ($first eq "sipcert") {
			next if $public;
			report($where, "\"$module\" may not include the public " .
				"API <$inc>: only lib implements it and only " .
				"cli uses it") unless $public_users{$module};
			next;
		}
		if ($first ne "" && ($direct{$first} || -d "src/$first")) {
			if ($public) {
				report($where, "public header includes the " .
					"internal \"$inc\"");
				next;
			}
			next if $first eq $module;
			if (!$direct{$first}) {
				report($where, "\"$inc\": module \"$first\" is " .
					"not in the layer table");
			} elsif (!$allowed{$module}{$first}) {
				report($where, "\"$module\" may not include " .
					"\"$inc\": it may include only " .
					(join(", ", sort keys %{$allowed{$module}})
					 || "libc") .
					($module eq "cli" ? " and sipcert/" : ""));
			} elsif ($first ne "base" && $module ne "lib" &&
				 !$is_test && $inc ne "$first/$first.h") {
				report($where, "\"$inc\" is private to " .
					"\"$first\"; use its interface " .
					"\"$first/$first.h\"");
			}
			next;
		}
		if ($quote eq "\"") {
			next if $first eq "" && -f "$dir/$inc";
			next if $first eq "" && $is_test && -f "tests/$inc";
			report($where, "\"$inc\" is neither in $dir/ nor " .
				"\"module/header.h\" of a module");
			next;
		}
		# <...>: the C library and system, or a third-party library
		for my $lh (@lib_headers) {
			my ($re, $lib) = @$lh;
			next unless $inc =~ $re;
			last if $public;
			last if $libs{$module}{$lib};
			last if $module eq "base" && $base_exception{$inc};
			report($where, "\"$module\" may not use $lib (<$inc>): " .
				"it belongs to " . join(", ", sort grep {
					grep { $_ eq $lib } @{$direct_libs{$_}}
				} keys %direct_libs));
			last;
		}
	}
	close $fh;
}

if ($problems) {
	print "check-layers: $problems violation(s) in $n_files file(s)\n";
	exit 1;
}
print "check-layers: $n_files file(s) follow the layers\n";
' -- "$@"
