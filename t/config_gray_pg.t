#!/usr/bin/perl
# t/config_gray.t on PostgreSQL (a private one, Test::Nd::Pg; under
# CI=true a PostgreSQL that cannot start fails the test).
use v5.36;
our $BACKEND = 'pg';
do './t/config_gray.t';
die $@ if $@;
