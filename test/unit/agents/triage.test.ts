import { describe, expect, it } from 'vitest';
import { analyzeSentiment, classify } from '../../../src/agents/triage/engine.js';
import { findSignals } from '../../../src/agents/triage/signals.js';
import { deriveTitle } from '../../../src/agents/tickets/repo.js';

describe('sentiment and urgency', () => {
  it('reads the seed examples', () => {
    expect(analyzeSentiment('This is great!')).toMatchObject({ sentiment: 'positive' });
    expect(analyzeSentiment('Pas content du tout, tout le monde est bloqué depuis 2h !!')).toMatchObject({ sentiment: 'negative', urgency: 'high' });
  });

  it('names the signals behind the result', () => {
    const types = findSignals('Pas content ! TOUT LE MONDE EST BLOQUÉ depuis 2h !!').map((s) => s.type);
    expect(types).toEqual(expect.arrayContaining(['negation', 'impact', 'duration', 'caps', 'exclamation']));
    expect(findSignals('No rush, when you have time').map((s) => s.type)).toContain('calm');
  });

  it('does not take a negated compliment as praise', () => {
    const signals = findSignals('not happy with this at all');
    expect(signals.some((s) => s.effect === 'positive')).toBe(false);
    expect(signals.some((s) => s.type === 'negation')).toBe(true);
  });
});

describe('classification', () => {
  it('classifies the seed example', () => {
    expect(classify('Server is down').category).toBe('server');
  });

  it.each([
    ["J'ai reçu un mail de phishing et j'ai cliqué sur le lien", 'security'],
    ['Mot de passe expiré, je ne peux plus me connecter à Salesforce', 'access'],
    ["L'imprimante du 2e étage est en bourrage", 'hardware'],
    ['Disque plein sur le NAS, plus aucune sauvegarde ne passe', 'storage'],
    ['VPN disconnects every 5 minutes from home', 'network'],
    ['Ma boîte mail est pleine, je ne reçois plus rien dans Outlook', 'email'],
  ])('%s → %s', (text, category) => {
    expect(classify(text).category).toBe(category);
  });

  it('gives confidences, reasons and alternatives', () => {
    const c = classify('Deadlocks toutes les minutes sur la base Postgres de prod');
    expect(c.categoryConfidence).toBeGreaterThan(0);
    expect(c.categoryConfidence).toBeLessThanOrEqual(1);
    expect(c.reasons.length).toBeGreaterThan(0);
    expect(c.alternatives).toHaveLength(2);
  });

  it('marks an unreadable ticket for a human rather than guessing confidently', () => {
    expect(classify('zzz qqq').needsHuman).toBe(true);
    // Whatever the corpus prior's confidence: no known word is never trusted.
    for (const text of ['zzz qqq', 'xkcd qwv', '!!! ???', '']) {
      const c = classify(text);
      expect(c.needsHuman, text).toBe(true);
      expect(c.reasons.join(' '), text).toMatch(/no word the model learned from/);
    }
    expect(classify('Le VPN ne se connecte plus').needsHuman).toBe(false);
  });
});

describe('titles', () => {
  it('takes the first line or sentence, shortened', () => {
    expect(deriveTitle('VPN down. Since 9am.')).toBe('VPN down.');
    expect(deriveTitle(`${'x'.repeat(100)}`)).toHaveLength(80);
  });
});
