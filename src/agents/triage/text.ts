/**
 * Text features shared by the triage models: accent-folded lower-case words, negation
 * marking, crude stems (word prefixes, which merge French and English inflections such as
 * redémarre/redémarrage/restarting) and word bigrams. French and English alike.
 */

const stopwords = new Set(
  (
    'a an and are as at be been but by for from has have i if in into is it its me my of on or our so that the their them there this to was we were will with you your ' +
    'au aux avec ce ces cet cette dans de des du elle en est et il ils je la le les leur lui ma mais me mes moi mon nos notre nous on ou par pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous y a été être avoir ai as avons avez ont suis es sommes êtes sont'
  )
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .split(' '),
);

const negators = new Set(['not', 'no', 'never', 'cannot', 'cant', 'dont', 'doesnt', 'didnt', 'isnt', 'wont', 'aint', 'pas', 'plus', 'jamais', 'aucun', 'aucune', 'rien', 'sans']);

/** Lower-case, accents removed, apostrophes folded (n't → nt, l'app → l app). */
export const fold = (text: string): string =>
  text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[’']/g, "'")
    .replace(/n't\b/g, 'nt')
    .replace(/'/g, ' ');

/** Words of two characters or more (digits kept inside tokens such as 502, srv-db-01 → srv, db, 01). */
export const words = (text: string): string[] => fold(text).match(/[\p{L}\p{N}]{2,}/gu) ?? [];

/** Features for the naive Bayes models. */
export function features(text: string): string[] {
  const tokens = words(text);
  const out: string[] = [];
  let negate = 0;
  let previous = '';
  for (const token of tokens) {
    if (negators.has(token)) {
      negate = 3;
      out.push(token);
      previous = token;
      continue;
    }
    if (stopwords.has(token)) continue;
    const mark = negate > 0 ? '!' : '';
    if (negate > 0) negate--;
    out.push(mark + token);
    if (token.length > 6) out.push(`${mark}${token.slice(0, 6)}~`);
    if (previous) out.push(`${previous}_${token}`);
    previous = token;
  }
  return out;
}
