/**
 * Credentials in SQL text: a schema diff is a pg_dump-style dump, and one holds credentials wherever the schema does
 * (a user mapping's options, a subscription's connection string, a server's options, a function that connects with
 * dblink). The diff is kept in workflow history, printed by the CLI and quoted in refusals, so every such value is
 * blanked before the diff leaves the activity. What stays readable is the statement, so a reviewer still sees that a
 * mapping or a subscription changed.
 */
import { REDACTED } from './secrets';

/** A SQL string literal (standard quoting, optionally E'' with backslash escapes). */
const LITERAL = String.raw`[Ee]?'(?:[^'\\]|''|\\.)*'`;

/**
 * A user mapping's OPTIONS list: its options are the mapped role's credentials (whatever the wrapper calls them:
 * password, secret, key), so every value in it is blanked. pg_dump writes `CREATE USER MAPPING ... OPTIONS (...)`;
 * ALTER puts ADD or SET before an option.
 */
const USER_MAPPING = /(\b(?:CREATE|ALTER)\s+USER\s+MAPPING\b[^;]*?\bOPTIONS\s*\()((?:[^()';]|'(?:[^']|'')*')*)(\))/gi;

/** What names a secret: an option (`password 'x'` of a server), a role's `PASSWORD 'x'`, a wrapper's access key. */
const SECRET_WORD = String.raw`\w*(?:passw(?:or)?d|secret|token|api_?key|access_?key|private_?key|credential)\w*`;
/** A name that says it is a secret, followed by its literal (optionally after `=`). */
const SECRET_OPTION = new RegExp(String.raw`((?:"${SECRET_WORD}"|\b${SECRET_WORD})\s*(?:=\s*)?)${LITERAL}`, 'gi');

/** `scheme://user:password@host` in any URI, including postgres connection strings inside a literal. */
const URI_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s'"]+:)[^@\s'"]+@/gi;

/**
 * libpq key=value form (`host=h password=x`, `sslpassword=...`) as a connection string inside a literal has it: the
 * value is a word, or quoted, its quotes doubled when the conninfo sits inside a SQL literal.
 */
const KEYWORD_PASSWORD =
  /(\bpassw(?:or)?d\s*=\s*|\bsslpassword\s*=\s*)(?:''(?:[^']|'(?!'))*''|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)/gi;

/** The SQL text with every credential it holds replaced by [REDACTED]; the rest unchanged. */
export function scrubSqlSecrets(sql: string): string {
  return (
    sql
      .replace(
        USER_MAPPING,
        (_match, head: string, options: string, close: string) =>
          head + options.replace(new RegExp(LITERAL, 'g'), `'${REDACTED}'`) + close,
      )
      .replace(URI_PASSWORD, `$1${REDACTED}@`)
      // Before the named literals: a conninfo inside a literal doubles its quotes, which would end that literal early.
      .replace(KEYWORD_PASSWORD, `$1${REDACTED}`)
      .replace(SECRET_OPTION, `$1'${REDACTED}'`)
  );
}
