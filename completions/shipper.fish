complete -c shipper -s F -l follow -d 'Follow files like `tail -F`: by name, across rotation and truncation, waiting for files that do not exist yet. A pattern may hold globs (quote it), expanded again every --glob-interval. Repeatable' -r
complete -c shipper -l read-from -d 'Where to start in a file seen for the first time, when the run starts: `beginning` or `end`. Files that appear later, and files in the checkpoint, are read from their beginning or saved position' -r -f -a "beginning\t'From the first byte'
end\t'From the end: only lines written from now on'"
complete -c shipper -l checkpoint -d 'Save how far each file was delivered to this file, and resume from it when shipper starts again (at-least-once across restarts)' -r -F
complete -c shipper -l glob-interval -d 'How often --follow patterns are expanded again for new files' -r
complete -c shipper -l rotate-wait -d 'How long a file renamed away (rotated) is still read, so the lines written just before the rotation are not lost' -r
complete -c shipper -l exclude-file -d 'Leave files out of every --follow pattern\'s expansion: a glob matched against each file\'s name and its whole path (`\'*.bak\'`, `\'/var/log/app/debug-*\'`). Compressed files are always left out. Repeatable' -r
complete -c shipper -l sink -d 'Where events go: `stdout`, `file` (see --file-path), `file=PATH`, `http=URL`, `nats=nats://HOST:PORT[,HOST:PORT...]/SUBJECT` (JetStream) or `syslog=tcp://HOST:PORT` (or `tls://`, `udp://`). Repeat for several sinks; each event goes to every sink. SHIPPER_SINK lists sinks split at each comma that starts a sink kind. [default: stdout]' -r
complete -c shipper -l file-path -d 'Path written by a bare `--sink file`' -r -F
complete -c shipper -l file-max-bytes -d 'Rotate a file sink before it would grow past this size (`100MiB`, `1G`, `65536`). No rotation when unset' -r
complete -c shipper -l file-max-files -d 'How many rotated files (`PATH.1` … `PATH.N`) a file sink keeps' -r
complete -c shipper -l http-format -d 'How an HTTP sink sends a batch: `ndjson` (one event a line) or `json` (one array)' -r -f -a "ndjson\t'One event a line (`application/x-ndjson`)'
json\t'One JSON array of events (`application/json`)'"
complete -c shipper -l http-header -d 'Add a header to every HTTP request, `Name: value` (repeatable)' -r
complete -c shipper -l http-token -d 'Bearer token sent as `Authorization`; set it through the environment so that it never shows in the process list' -r
complete -c shipper -l http-timeout -d 'Longest one HTTP request may take, answer included' -r
complete -c shipper -l http-ca-file -d 'Trust this PEM certificate (a private CA) as well as the system\'s' -r -F
complete -c shipper -l retry-initial -d 'First wait before a network sink (HTTP, NATS, syslog) retries a failed write; it doubles each time' -r
complete -c shipper -l retry-max-delay -d 'Longest wait between two attempts (Retry-After included)' -r
complete -c shipper -l retry-max -d 'Attempts at one batch before it is given up as `sink_error`' -r
complete -c shipper -l nats-stream -d 'Create this JetStream stream (file storage, capturing the NATS sink\'s subject) when no stream captures the subject yet' -r
complete -c shipper -l nats-user -d 'User name for NATS, with --nats-password' -r
complete -c shipper -l nats-password -d 'Password for NATS; set it through the environment so that it never shows in the process list' -r
complete -c shipper -l nats-token -d 'Token for NATS; set it through the environment' -r
complete -c shipper -l nats-creds -d 'A NATS credentials file (user JWT and NKey seed)' -r -F
complete -c shipper -l nats-ca-file -d 'For NATS over TLS (`nats=tls://`, or a server that requires it): trust this PEM certificate (a private CA) as well as the system\'s' -r -F
complete -c shipper -l nats-timeout -d 'Longest wait for NATS to connect, answer, or acknowledge a publish; an event not acknowledged by then is published again' -r
complete -c shipper -l syslog-app-name -d 'APP-NAME of the syslog messages' -r
complete -c shipper -l syslog-facility -d 'Facility of the syslog messages: user, daemon, local0 to local7... (RFC 5424\'s, by the names servers give them)' -r
complete -c shipper -l syslog-max-message -d 'Longest syslog message sent over TCP, its octet count aside: longer ones are cut and flagged. The default is syslog-ng\'s `log_msg_size`, past which it closes the connection. (Over UDP, 2048 bytes.)' -r
complete -c shipper -l syslog-timeout -d 'Longest a syslog server may take to accept a TCP connection, or to take any of a batch\'s data; then the connection is dropped and the batch sent again on a new one (as the --retry-* flags allow)' -r
complete -c shipper -l syslog-ca-file -d 'For `syslog=tls://` servers: trust this PEM certificate (a private CA) as well as the system\'s' -r -F
complete -c shipper -l field -d 'Add KEY=VALUE to every event\'s `data` (repeatable; the input\'s own keys win)' -r
complete -c shipper -l max-line-bytes -d 'Longest line kept whole; longer lines are cut (best-effort) or rejected (strict), and memory never grows past this bound' -r
complete -c shipper -l queue-capacity -d 'How many events the queue holds before intake waits (or drops)' -r
complete -c shipper -l queue-max-bytes -d 'How many bytes of lines the queue holds, whatever their number' -r
complete -c shipper -l backpressure-wait -d 'With --drop-on-full: how long a line waits for room before it is dropped' -r
complete -c shipper -l protect-level -d 'With --drop-on-full: lines at or above this level (debug, info, warning, error, critical) wait for room instead of being dropped' -r
complete -c shipper -l batch-size -d 'Most events in one batch' -r
complete -c shipper -l batch-timeout -d 'Longest a partly filled batch waits before it is written' -r
complete -c shipper -l shutdown-timeout -d 'Longest the drain may take once input ends or a signal arrives; what is still in flight then is counted `shutdown_timeout`' -r
complete -c shipper -l summary -d 'How the drain summary is printed on stderr at exit' -r -f -a "text\t'One or two lines for a person'
json\t'One JSON object'
none\t'Nothing'"
complete -c shipper -l summary-file -d 'Also write the summary as JSON to this file' -r -F
complete -c shipper -l progress -d 'A status line on stderr while running: `auto` shows it when stderr is a terminal that stdout does not write the events to' -r -f -a "auto\t'When stderr is a terminal the events do not go to'
always\t'Wherever stderr goes, the terminal of the events included'
never\t''"
complete -c shipper -l stats-interval -d 'While running, write the summary\'s figures so far to stderr as one JSON line (`"type":"stats"`) at this interval' -r
complete -c shipper -l metrics-addr -d 'While running, serve the counters in the Prometheus text format on http://HOST:PORT/metrics' -r
complete -c shipper -l config -d 'Read settings from this TOML file (one key per long flag, e.g. `batch-size = 512`); the environment and the command line win over it' -r -F
complete -c shipper -l generate -d 'Print the man page or a shell\'s completions, and exit' -r -f -a "man\t''
bash\t''
zsh\t''
fish\t''
elvish\t''
powershell\t''"
complete -c shipper -l show-checkpoint -d 'Print the positions saved in --checkpoint (of the FILEs given, or all), and exit'
complete -c shipper -l reset-checkpoint -d 'Forget the positions saved in --checkpoint for the FILEs given (as --show-checkpoint names them), or for every file; then exit'
complete -c shipper -l poll -d 'Look at followed files every 250ms instead of being told of changes by inotify (for network filesystems)'
complete -c shipper -l http-gzip -d 'Compress HTTP request bodies with gzip'
complete -c shipper -l strict-envelope -d 'Reject (and count as `invalid`) any line that is not a well-formed JSON event, instead of wrapping it as best it can'
complete -c shipper -l raw -d 'Ship each line byte for byte, without an envelope'
complete -c shipper -l drop-on-full -d 'When the queue is full, drop new lines (counted `queue_full`) instead of making the writer wait'
complete -c shipper -l gap-markers -d 'After events were dropped, write one event into the stream saying how many and why, where they would have been'
complete -c shipper -s q -l quiet -d 'No status line, whatever --progress says'
complete -c shipper -s v -l verbose -d 'Also report routine events (sinks opened and closed) on stderr'
complete -c shipper -l check-config -d 'Check the settings (flags, environment, config file) and exit'
complete -c shipper -l print-config -d 'Print the settings in effect (config file, environment and flags merged) as a config file, secrets hidden, and exit'
complete -c shipper -s h -l help -d 'Print help (see more with \'--help\')'
complete -c shipper -s V -l version -d 'Print version'
