
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'shipper' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'shipper'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'shipper' {
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Follow files like `tail -F`, across rotation and truncation; a PATTERN may hold globs (quote it); repeatable')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Follow files like `tail -F`, across rotation and truncation; a PATTERN may hold globs (quote it); repeatable')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'Where to start in a file seen for the first time, when the run starts: `beginning` or `end`. Files that appear later, and files in the checkpoint, are read from their beginning or saved position')
            [CompletionResult]::new('--checkpoint', '--checkpoint', [CompletionResultType]::ParameterName, 'Save how far each file was delivered to this file, and resume from it when shipper starts again (at-least-once across restarts)')
            [CompletionResult]::new('--show-checkpoint', '--show-checkpoint', [CompletionResultType]::ParameterName, 'Print the positions saved in --checkpoint (of the FILEs given, or all), and exit: a table, or one JSON object with `--show-checkpoint=json` (see docs/summary.md)')
            [CompletionResult]::new('--glob-interval', '--glob-interval', [CompletionResultType]::ParameterName, 'How often --follow patterns are expanded again for new files')
            [CompletionResult]::new('--rotate-wait', '--rotate-wait', [CompletionResultType]::ParameterName, 'How long a file renamed away (rotated) is still read, so the lines written just before the rotation are not lost')
            [CompletionResult]::new('--exclude-file', '--exclude-file', [CompletionResultType]::ParameterName, 'Leave files out of every --follow pattern''s expansion: a glob matched against each file''s name and its whole path (`''*.bak''`, `''/var/log/app/debug-*''`). Compressed files are always left out. Repeatable')
            [CompletionResult]::new('--sink', '--sink', [CompletionResultType]::ParameterName, 'Where events go: `stdout`, `file[=PATH]`, `http=URL`, `nats=URL/SUBJECT`, `syslog=URL`, `elasticsearch=URL/INDEX`, `opensearch=URL/INDEX`, `otlp=URL`, `loki=URL` or `splunk=URL`; repeat for several [default: stdout]')
            [CompletionResult]::new('--dead-letter', '--dead-letter', [CompletionResultType]::ParameterName, 'Keep every event a sink gives up on (its retries spent, or turned away by the collector) in this file, one JSON line each with the sink, the reason and the event byte for byte, made durable before the checkpoint moves past it. Give the file as FILE to send its events again')
            [CompletionResult]::new('--file-path', '--file-path', [CompletionResultType]::ParameterName, 'Path written by a bare `--sink file`')
            [CompletionResult]::new('--file-max-bytes', '--file-max-bytes', [CompletionResultType]::ParameterName, 'Rotate a file sink before it would grow past this size (`100MiB`, `1G`, `65536`). No rotation when unset')
            [CompletionResult]::new('--file-max-files', '--file-max-files', [CompletionResultType]::ParameterName, 'How many rotated files (`PATH.1` … `PATH.N`) a file sink keeps')
            [CompletionResult]::new('--http-format', '--http-format', [CompletionResultType]::ParameterName, 'How an HTTP sink sends a batch: `ndjson` (one event a line) or `json` (one array)')
            [CompletionResult]::new('--http-header', '--http-header', [CompletionResultType]::ParameterName, 'Add a header to every HTTP request, `Name: value` (repeatable)')
            [CompletionResult]::new('--http-token', '--http-token', [CompletionResultType]::ParameterName, 'Bearer token sent as `Authorization`; set it through the environment so that it never shows in the process list')
            [CompletionResult]::new('--http-timeout', '--http-timeout', [CompletionResultType]::ParameterName, 'Longest one HTTP request may take, answer included')
            [CompletionResult]::new('--http-ca-file', '--http-ca-file', [CompletionResultType]::ParameterName, 'Trust this PEM certificate (a private CA) as well as the system''s')
            [CompletionResult]::new('--es-api-key', '--es-api-key', [CompletionResultType]::ParameterName, 'An Elasticsearch or OpenSearch API key (the encoded `id:key`), sent as `Authorization: ApiKey`; set it through the environment')
            [CompletionResult]::new('--otlp-encoding', '--otlp-encoding', [CompletionResultType]::ParameterName, 'How the OTLP sink encodes a request: `protobuf` or `json`')
            [CompletionResult]::new('--otlp-service', '--otlp-service', [CompletionResultType]::ParameterName, 'The `service.name` the OTLP sink gives its logs [default: the value of `--field service=...`, else `shipper`]')
            [CompletionResult]::new('--loki-label', '--loki-label', [CompletionResultType]::ParameterName, 'A label every Loki stream carries, KEY=VALUE (repeatable); `level` is added from each event')
            [CompletionResult]::new('--splunk-token', '--splunk-token', [CompletionResultType]::ParameterName, 'The Splunk HTTP Event Collector token, sent as `Authorization: Splunk`; set it through the environment')
            [CompletionResult]::new('--splunk-sourcetype', '--splunk-sourcetype', [CompletionResultType]::ParameterName, 'The `sourcetype` of the events the Splunk sink sends')
            [CompletionResult]::new('--retry-initial', '--retry-initial', [CompletionResultType]::ParameterName, 'First wait before a network sink (HTTP, NATS, syslog) retries a failed write; it doubles each time')
            [CompletionResult]::new('--retry-max-delay', '--retry-max-delay', [CompletionResultType]::ParameterName, 'Longest wait between two attempts (Retry-After included)')
            [CompletionResult]::new('--retry-max', '--retry-max', [CompletionResultType]::ParameterName, 'Attempts at one batch before it is given up as `sink_error`')
            [CompletionResult]::new('--nats-stream', '--nats-stream', [CompletionResultType]::ParameterName, 'Create this JetStream stream (file storage, capturing the NATS sink''s subject) when no stream captures the subject yet')
            [CompletionResult]::new('--nats-user', '--nats-user', [CompletionResultType]::ParameterName, 'User name for NATS, with --nats-password')
            [CompletionResult]::new('--nats-password', '--nats-password', [CompletionResultType]::ParameterName, 'Password for NATS; set it through the environment so that it never shows in the process list')
            [CompletionResult]::new('--nats-token', '--nats-token', [CompletionResultType]::ParameterName, 'Token for NATS; set it through the environment')
            [CompletionResult]::new('--nats-creds', '--nats-creds', [CompletionResultType]::ParameterName, 'A NATS credentials file (user JWT and NKey seed)')
            [CompletionResult]::new('--nats-ca-file', '--nats-ca-file', [CompletionResultType]::ParameterName, 'For NATS over TLS (`nats=tls://`, or a server that requires it): trust this PEM certificate (a private CA) as well as the system''s')
            [CompletionResult]::new('--nats-timeout', '--nats-timeout', [CompletionResultType]::ParameterName, 'Longest wait for NATS to connect, answer, or acknowledge a publish; an event not acknowledged by then is published again')
            [CompletionResult]::new('--syslog-app-name', '--syslog-app-name', [CompletionResultType]::ParameterName, 'APP-NAME of the syslog messages')
            [CompletionResult]::new('--syslog-facility', '--syslog-facility', [CompletionResultType]::ParameterName, 'Facility of the syslog messages: user, daemon, local0 to local7... (RFC 5424''s, by the names servers give them)')
            [CompletionResult]::new('--syslog-max-message', '--syslog-max-message', [CompletionResultType]::ParameterName, 'Longest syslog message sent over TCP, its octet count aside: longer ones are cut and flagged. The default is syslog-ng''s `log_msg_size`, past which it closes the connection. (Over UDP, 2048 bytes.)')
            [CompletionResult]::new('--syslog-timeout', '--syslog-timeout', [CompletionResultType]::ParameterName, 'Longest a syslog server may take to accept a TCP connection, or to take any of a batch''s data; then the connection is dropped and the batch sent again on a new one (as the --retry-* flags allow)')
            [CompletionResult]::new('--syslog-ca-file', '--syslog-ca-file', [CompletionResultType]::ParameterName, 'For `syslog=tls://` servers: trust this PEM certificate (a private CA) as well as the system''s')
            [CompletionResult]::new('--field', '--field', [CompletionResultType]::ParameterName, 'Add KEY=VALUE to every event''s `data` (repeatable; the input''s own keys win). Not with --raw, which has no `data`')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How lines are read: `auto` tells each line''s format by its first bytes (JSON, syslog, an access log, logfmt, else plain text with the header applications print); a named format reads every line so, and a line that is not in it is read as plain text (strict mode: dropped as `invalid`)')
            [CompletionResult]::new('--message-key', '--message-key', [CompletionResultType]::ParameterName, 'The member of a JSON line that holds its message, read before the names loggers use (`message`, `msg`, `@m`, `MESSAGE`...)')
            [CompletionResult]::new('--level-key', '--level-key', [CompletionResultType]::ParameterName, 'The member of a JSON line that holds its level, read before the names loggers use (`level`, `severity`, `levelname`, `@l`...)')
            [CompletionResult]::new('--timestamp-key', '--timestamp-key', [CompletionResultType]::ParameterName, 'The member of a JSON line that holds its time, read before the names loggers use (`timestamp`, `time`, `ts`, `@timestamp`...)')
            [CompletionResult]::new('--level-from', '--level-from', [CompletionResultType]::ParameterName, 'Where a plain-text line''s level comes from: `auto` reads a level word where loggers put it (`ERROR ...`, `[warn]`, `level=info`, after the leading time), never inside a path or another word; `none` leaves such lines at INFO. The level a line''s header or JSON member states counts either way')
            [CompletionResult]::new('--max-line-bytes', '--max-line-bytes', [CompletionResultType]::ParameterName, 'Longest line kept whole; longer lines are cut (best-effort) or rejected (strict), and memory never grows past this bound')
            [CompletionResult]::new('--multiline', '--multiline', [CompletionResultType]::ParameterName, 'How lines join into multi-line events: `auto` joins the stack traces of Python, the JVM, Node, Go and Rust, and lines indented under a line that is not, into the event of the line they belong to; `off` makes every line an event; `start=REGEX`: a line matching starts an event and the others continue it; `continue=REGEX`: a line matching continues the event before it. JSON lines are never joined')
            [CompletionResult]::new('--multiline-timeout', '--multiline-timeout', [CompletionResultType]::ParameterName, 'How long a multi-line event waits for its next line before it ships')
            [CompletionResult]::new('--multiline-max-lines', '--multiline-max-lines', [CompletionResultType]::ParameterName, 'Most lines one multi-line event holds: past them it is cut (flagged `truncated`) and the rest goes on in an event of its own')
            [CompletionResult]::new('--queue-capacity', '--queue-capacity', [CompletionResultType]::ParameterName, 'How many events the queue holds before intake waits (or drops)')
            [CompletionResult]::new('--queue-max-bytes', '--queue-max-bytes', [CompletionResultType]::ParameterName, 'How many bytes of lines the queue holds, whatever their number')
            [CompletionResult]::new('--backpressure-wait', '--backpressure-wait', [CompletionResultType]::ParameterName, 'With --drop-on-full: how long a line waits for room before it is dropped')
            [CompletionResult]::new('--protect-level', '--protect-level', [CompletionResultType]::ParameterName, 'With --drop-on-full: lines at or above this level wait for room instead of being dropped')
            [CompletionResult]::new('--min-level', '--min-level', [CompletionResultType]::ParameterName, 'Set aside events below this level (counted `filtered`, reason `level`; never dropped)')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'Ship only events whose message matches one of these patterns (repeatable; Rust regex syntax)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Set aside events whose message matches any of these patterns (repeatable)')
            [CompletionResult]::new('--sample', '--sample', [CompletionResultType]::ParameterName, 'Keep one event in N of each source (the first, then every Nth)')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'Ship at most N events a second from each source, with a burst of N; the rest are set aside (`N/s` or `N`)')
            [CompletionResult]::new('--redact', '--redact', [CompletionResultType]::ParameterName, 'What to hide in every line before it ships: `credentials` (secret keys'' values, tokens and keys by their shapes, private keys, URL passwords), `pii` (e-mail addresses, card numbers, IBANs), or `none`')
            [CompletionResult]::new('--redact-key', '--redact-key', [CompletionResultType]::ParameterName, 'Also hide the value of this key, in JSON members and `key=value` pairs, in any case (repeatable)')
            [CompletionResult]::new('--redact-pattern', '--redact-pattern', [CompletionResultType]::ParameterName, 'Also hide what this pattern matches: its first group if it has one, else the whole match (repeatable)')
            [CompletionResult]::new('--redact-hash', '--redact-hash', [CompletionResultType]::ParameterName, 'Write a keyed hash of each hidden value (HMAC-SHA256 with this key, 16 hex digits) instead of [REDACTED], so equal values still match')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Most events in one batch')
            [CompletionResult]::new('--batch-timeout', '--batch-timeout', [CompletionResultType]::ParameterName, 'Longest a partly filled batch waits before it is written')
            [CompletionResult]::new('--shutdown-timeout', '--shutdown-timeout', [CompletionResultType]::ParameterName, 'Longest the drain may take once input ends or a signal arrives; what is still in flight then is counted `shutdown_timeout`')
            [CompletionResult]::new('--summary', '--summary', [CompletionResultType]::ParameterName, 'How the drain summary is printed on stderr at exit')
            [CompletionResult]::new('--summary-file', '--summary-file', [CompletionResultType]::ParameterName, 'Also write the summary as JSON to this file')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'A status line on stderr while running: `auto` shows it when stderr is a terminal that stdout does not write the events to')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'How shipper''s own warnings and errors are written on stderr: `auto` writes text to a terminal and JSON lines elsewhere')
            [CompletionResult]::new('--stats-interval', '--stats-interval', [CompletionResultType]::ParameterName, 'While running, write the summary''s figures so far to stderr as one JSON line (`"type":"stats"`) at this interval')
            [CompletionResult]::new('--metrics-addr', '--metrics-addr', [CompletionResultType]::ParameterName, 'While running, serve the counters in the Prometheus text format on http://HOST:PORT/metrics')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file, keyed by the long flags')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the man page or a shell''s completions, and exit')
            [CompletionResult]::new('--reset-checkpoint', '--reset-checkpoint', [CompletionResultType]::ParameterName, 'Forget the positions saved in --checkpoint for the FILEs given (as --show-checkpoint names them), or for every file; then exit')
            [CompletionResult]::new('--poll', '--poll', [CompletionResultType]::ParameterName, 'Look at followed files every 250ms instead of being told of changes by inotify (for network filesystems)')
            [CompletionResult]::new('--http-gzip', '--http-gzip', [CompletionResultType]::ParameterName, 'Compress HTTP request bodies with gzip')
            [CompletionResult]::new('--strict-envelope', '--strict-envelope', [CompletionResultType]::ParameterName, 'Reject (and count as `invalid`) any line that is not a well-formed JSON event, instead of wrapping it as best it can')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Ship each line byte for byte, without an envelope')
            [CompletionResult]::new('--drop-on-full', '--drop-on-full', [CompletionResultType]::ParameterName, 'When the queue is full, drop new lines (counted `queue_full`) instead of making the writer wait')
            [CompletionResult]::new('--gap-markers', '--gap-markers', [CompletionResultType]::ParameterName, 'After events were dropped, write one event into the stream saying how many and why, where they would have been')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Quiet: no status line and no text summary (a JSON summary, the summary file, warnings and errors are still written)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Quiet: no status line and no text summary (a JSON summary, the summary file, warnings and errors are still written)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Also report routine events on stderr: sinks opened and closed, and every retry of a network sink (its attempt, wait and reason)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Also report routine events on stderr: sinks opened and closed, and every retry of a network sink (its attempt, wait and reason)')
            [CompletionResult]::new('--check-config', '--check-config', [CompletionResultType]::ParameterName, 'Check the settings (flags, environment, config file) and exit')
            [CompletionResult]::new('--print-config', '--print-config', [CompletionResultType]::ParameterName, 'Print the settings in effect (config file, environment and flags merged) as a config file, secrets hidden, and exit')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
