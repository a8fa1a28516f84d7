/**
 * `$tag$body$tag$` with a tag that cannot end the quote early: the first occurrence of the tag
 * in `body + tag` must be the closing one (so a body ending in `$pgshift` is also caught). Nothing
 * inside the body (a table name such as `we$pgshift$ird` in a function name, a user's `using`
 * expression) can then end it. The tag is `$pgshift$` when free, else `$pgshift_1$`,
 * `$pgshift_2$`, ... Every function body and DO block pgshift builds goes through here.
 */
export function dollarQuote(body: string): string {
  let tag = "$pgshift$";
  for (let i = 1; (body + tag).indexOf(tag) !== body.length; i++) tag = `$pgshift_${i}$`;
  return `${tag}${body}${tag}`;
}
