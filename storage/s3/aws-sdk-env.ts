/**
 * Imported for its effect by every module that makes an AWS SDK client (the s3 provider, and the test and bench
 * support): the SDK warns on every node before 22 (9 lines on stderr, once per process, at its first client) that
 * its releases from January 2027 will need node 22. Ferry runs on node 20.3+ with the SDK its lockfile pins, so the
 * warning is for whoever upgrades that lock (README, Try it), not for an operator or a test log; set the variable to
 * "false" to see it.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};
