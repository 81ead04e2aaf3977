import { fold } from './text.js';

/** Why the analyzer decided what it did: each signal names the words it matched. */
export interface Signal {
  type: 'emotion' | 'negation' | 'intensifier' | 'caps' | 'exclamation' | 'emoji' | 'duration' | 'urgent-word' | 'impact' | 'deadline' | 'outage' | 'calm' | 'vip' | 'request' | 'repeat' | 'worry' | 'praise' | 'production' | 'workaround' | 'cosmetic';
  match: string;
  effect: 'negative' | 'positive' | 'urgency+' | 'urgency-';
  weight: number;
}

interface Rule {
  type: Signal['type'];
  effect: Signal['effect'];
  weight: number;
  pattern: RegExp;
}

// Patterns run on folded text: lower case, no accents, apostrophes as spaces.
const rules: Rule[] = [
  {
    type: 'emotion',
    effect: 'negative',
    weight: 2,
    pattern:
      /\b(inadmissible|inacceptable|scandaleu\w*|honteu\w*|lamentable|catastroph\w*|ras le bol|j en ai marre|en ai assez|marre|furieu\w*|enerv\w*|agace\w*|exaspere\w*|insupportable|n importe quoi|pas normal|toujours pas|encore une fois|pour la (deuxieme|troisieme|quatrieme|enieme|\d+e) fois|deja signale\w*|serieusement|grr+|unacceptable|ridiculous|terrible|awful|horrible|frustrat\w*|angry|furious|annoy\w*|fed up|sick of|worst|useless|disappoint\w*|third time|second time|fourth time|yet again|once again|seriously|wtf|come on|not acceptable|pathetic|nightmare|cauchemar|desespere\w*|panique\w*|no one (is )?(answer|respond)\w*|personne ne (repond|rappelle))\b/g,
  },
  {
    // Frustration and irritation, French and English (folded text).
    type: 'emotion',
    effect: 'negative',
    weight: 2,
    pattern:
      /\b(agacant\w*|exasperant\w*|penible|lourd|galere|lassant\w*|ca traine|c est (pas|pas tres) (serieux|pro|normal|top)|pas (serieux|top du tout|pro du tout)|pas contente?|pas ravie?|ca m enerve|ca devient (genant|penible|lourd)|ca commence a (bien )?faire|on commence a en avoir assez|tout le monde (rale|raaale)|les clients (hurlent|rallent|se plaignent)|se plaignent|on passe pour des|fiasco|degoute\w*|crise de nerfs|ras.le.bol|franchement|c est quoi (le|ce) (probleme|bordel)|on attend quoi|comment (c est|est.ce) possible|qui a (valide|touche|autorise|eteint)|personne ne (bouge|fait rien|veut|repond|m a prevenu)|toujours rien|comme en \d{4}|bravo (la|le|les) \w+|super\.{2,}|not (happy|pleased|amused|ok)|annoying|irritating|driving me (crazy|nuts|mad)|drives me (crazy|nuts)|frustrating|embarrass\w*|ugh+|sigh|argh+|what is going on|what s going on|who (approved|touched|turned|decided)|how (is|was) (this|that|it) possible|how many times|losing (patience|our patience)|yelled at|shouting|complain\w*|fed up|had enough|nobody (told|answers|responds|cares)|no one (told|answers|responds)|it s a (joke|mess)|what a (mess|joke)|a bit much|wasted|perdu (un temps fou|ma matinee|ma journee)|perdent un temps fou|sans (aucune )?(reponse|nouvelles))\b/g,
  },
  {
    // Repeated complaints: the requester has been here before.
    type: 'repeat',
    effect: 'negative',
    weight: 2,
    pattern:
      /\b(\d+ ?(e|eme|ieme) fois|(deuxieme|troisieme|quatrieme|enieme|\d+e) (fois|en un mois|cette semaine)|(\d+|trois|quatre|cinq|plusieurs) fois (cette semaine|ce mois|deja|de suite|d affilee)|\d+e (rapport|relance|ticket) d affilee|d affilee|encore\.{2,}|(je l ai|on l a|j ai) deja (demande|signale|dit)\w*|deja (demande|signale|relance)\w* (deux|trois|\d+|plusieurs) fois|relance\w*|comme la (semaine|fois) derniere|(again|still)[!.?]*$|again(?! and again)|still (not|no|nothing|isn t|doesn t|hasn t|haven t|broken|waiting)|(\d+|two|three|four|five|several) times (now|already|this (week|month)|in a row)|in a row|already (raised|reported|asked|told|flagged)|(i|we) (raised|reported|asked) (this|it) (already|before|twice)|keeps? (happening|coming back)|finally)\b/g,
  },
  {
    // Worry and distress count as negative tone.
    type: 'worry',
    effect: 'negative',
    weight: 1.5,
    pattern:
      /\b(inquiet\w*|m inquiete|stresse\w*|peur|angoiss\w*|panique\w*|je m en veux|paniqu\w*|worried|worrying|stressed|scared|freaking out|freaked out|afraid|nervous|help+)\b/g,
  },
  {
    // Thanks for something done, praise: a positive tone (but not "merci d'avance", which is politeness).
    type: 'praise',
    effect: 'positive',
    weight: 2,
    pattern:
      /\b(merci (encore |beaucoup |bien )?pour (le|la|les|l|votre|ton|ta|vos|tes|cette|ce|cet|ces|son) \w+|merci a \w+ pour|thanks?( you)? (so much |a lot |again )?for (the|your|all|setting|being|fixing|helping|this|that|a|an|last)|cheers for|thx for|super (sympa|efficace|boulot|pratique|rapide|content|contente)|tres (pratique|clair|claire|reussi|reussie|utile|rapide|efficace|sympa|content|contente)|sympa|efficace|reactivite|c est le jour et la nuit|tout roule|rien a signaler|(ca|il|elle) (est|a) (servi|super|genial|top)|(il|elle) est (genial|super|top)|vous etes (top|geniaux|super)|toujours un plaisir|plaisir de travailler|(love|loved|loving) (the|it|this|your)|you rock|you re the best|you guys|so helpful|really useful|very useful|huge improvement|great (job|work|stuff)|amazing (job|work)|paid off|saved us|easier|lovely|hope you re (well|doing well)|way (less|better|faster)|is great|are great|it s great|been great|works great|c etait (tres )?(sympa|top|super|genial))\b/g,
  },
  { type: 'negation', effect: 'negative', weight: 2.5, pattern: /\b(pas|plus|not|never|jamais)\s+(du tout\s+|tres\s+|very\s+|really\s+)?(content|contente|satisfait|satisfaite|happy|satisfied|pleased|ravi|ravie)\b/g },
  {
    type: 'emotion',
    effect: 'positive',
    weight: 2,
    pattern:
      /\b(merci beaucoup|merci mille fois|un grand merci|mille mercis|super boulot|bon travail|bravo|genial|parfait|excellent|impeccable|nickel|ravie?|top\b|au top|formidable|great job|good job|well done|nice work|awesome|amazing|perfect|brilliant|fantastic|thanks a lot|thank you so much|many thanks|much appreciated|kudos|love (it|the)|works (great|perfectly|like a charm)|fonctionne parfaitement|marche nickel)\b/g,
  },
  { type: 'intensifier', effect: 'negative', weight: 0.5, pattern: /\b(vraiment|totalement|completement|absolument|extremement|really|totally|completely|absolutely|extremely|so+ slow|trop lent)\b/g },
  { type: 'emoji', effect: 'negative', weight: 1.5, pattern: /(😡|🤬|😠|😤|😩|😫|💀|👎)/gu },
  { type: 'emoji', effect: 'positive', weight: 1.5, pattern: /(🙂|😊|😀|😃|👍|🙏|🎉|❤️|😍)/gu },
  {
    type: 'duration',
    effect: 'urgency+',
    weight: 1,
    pattern:
      /\b(depuis (\d+|un|une|deux|trois|quatre|plusieurs|une bonne)\s*(h|heures?|min|minutes?)|depuis (ce matin|hier|cette nuit|ce midi|lundi|mardi|mercredi|jeudi|vendredi|le debut|des heures)|(for|since) (\d+|an?|one|two|three|four|several|over an?)\s*(h|hrs?|hours?|mins?|minutes?)|since (this morning|yesterday|last night|monday|tuesday|wednesday|thursday|friday|lunch|hours))\b/g,
  },
  {
    type: 'urgent-word',
    effect: 'urgency+',
    weight: 2,
    pattern: /(?<!\b(?:pas|not|non|no|sans|rien d|nothing|aucune?)(?: (?:super|tres|very|really|so|vraiment|si|trop|du tout|at all))? )\b(urgent|urgence|urgemment|asap|au plus vite|au plus tot|immediatement|tout de suite|sans attendre|critique|critical|emergency|right now|right away|immediately|prioritaire|bloquant|blocking|showstopper|p1|sev1|sev 1)\b/g,
  },
  {
    type: 'impact',
    effect: 'urgency+',
    weight: 1.5,
    pattern:
      /\b(tout le monde|tous les (utilisateurs|collaborateurs|postes|salaries|agents|clients|sites)|toute l equipe|tout le service|tout le (site|batiment|plateau|magasin)|tous les magasins|toute la (boite|societe|compta|production)|personne ne peut|plus personne|aucun (utilisateur|client)|everyone|everybody|all (users|staff|employees|customers|stores|sites|our)|whole (team|company|office|floor|department)|entire (team|company|office|site)|nobody can|no one can|customers? (can ?t|cannot|are unable)|clients? ne (peuvent|peut)|chiffre d affaires|(?<!(?:pas|est|sont|etre) )revenue|perte de ventes|losing (money|sales|orders)|pour personne|for (everyone|everybody|all users)|toute la (boite|drh|direction|compta\w*|equipe|societe|boutique|clinique|agence)|tout le (groupe|batiment|personnel|siege)|all (services|customer.facing|agents|\d+)|(\d{2,}|plusieurs|several|many|multiple|dizaines de|centaines de|dozens of|hundreds of) (utilisateurs|users|personnes|people|salaries|collaborateurs|employees|agents|magasins|stores|sites|agences|clients|customers|pc|postes|vms?|commerciaux|conseillers|comptables|vendeurs|techniciens|operateurs|fournisseurs|partenaires|suppliers|partners|staff|colleagues|collegues|services|teams|equipes|bureaux|offices|caisses|patients)|(all|every|tous les|toutes les) (partners|partenaires|fournisseurs|suppliers|comptes|accounts|branches|offices|bureaux|agences|utilisatrices|salles)|(for|pour) (every|each|chaque) (user|customer|client|utilisateur)|personne ne peut (plus )?travailler|nobody can work|no one can work|(production|la prod|l usine|le site|the site|the shop|la boutique|le magasin) (est )?(a l arret|arretee|stopped|halted|is down|est down|est arretee)|(team|equipe) (of|de) \d+|the (whole|entire) \w+ (team|org|group|department)|clients? (impactes|fuient|repartent|bloques)|customers? (impacted|affected|complain\w*|are)|les (ventes|paiements|commandes|caisses)|(payments?|orders?|checkout|sales) (fail\w*|blocked|are)|plus aucune? (commande|vente|transaction|log|paiement)|no (orders?|sales|payments?))\b/g,
  },
  {
    type: 'deadline',
    effect: 'urgency+',
    weight: 1,
    pattern:
      /\b(avant (\d{1,2} ?h\d*|midi|ce soir|demain matin|la fin de (la )?journee|la reunion|la demo)|dans (\d+|une|deux) ?(h|heures?|minutes?|min)|ce soir|aujourd hui|before (noon|tonight|\d{1,2} ?(am|pm)|end of (the )?day|eod|the (meeting|demo|board))|by (tonight|eod|noon|\d{1,2} ?(am|pm))|within (the )?(hour|\d+ ?(hours?|minutes?))|deadline|echeance|cloture (mensuelle|comptable)?|month.end close|go.live|go live|a \d{1,2} ?h(\d\d)?|at \d{1,2}(:\d\d)? ?(am|pm)|this (afternoon|evening)|(?<!since )this morning|cet apres.midi|tonight|(?<!since |as of )today|demain matin|tomorrow morning|in (an|one|two|\d+) hours?|dans (une|deux|\d+) heures?|cut.off)\b/g,
  },
  {
    type: 'outage',
    effect: 'urgency+',
    weight: 0.5,
    pattern: /\b(down|outage|en panne|panne generale|hors service|hs|ne repond plus|inaccessible|unreachable|plante|crash\w*|ne fonctionne plus|ne marche plus|completely broken|not working at all|coupure|offline|hors ligne|a l arret|fige\w*|froze|frozen|inutilisable\w*|unusable|bloque\w*|blocked|stuck|coince\w*|echou\w*|fail(s|ed|ing)|en erreur|tombe\w*|dead|mort|disaster|catastroph\w*|plus aucune?|no longer|en boucle|crashloop\w*|is down|are down|sont down|est down|service unavailable|ne repondent plus|not responding|stopped (working|responding)|plus rien ne (passe|marche|fonctionne)|nothing works|won t start|ne demarre plus)\b/g,
  },
  {
    type: 'production',
    effect: 'urgency+',
    weight: 1,
    pattern: /\b(en prod|de prod|la prod|prod impactee|production|in prod|prod (is|est)|site marchand|public (site|website)|site public|checkout|paiements?|payments?|facturation|caisses?)\b/g,
  },
  {
    type: 'workaround',
    effect: 'urgency-',
    weight: 0.5,
    pattern:
      /\b(en attendant|je contourne|on contourne|contourn\w*|je passe par|on passe par|workaround|work around|meanwhile|in the meantime|for now|pour l instant|degrade mais|degraded but|usable|utilisable|par intermittence|intermittent\w*|parfois|sometimes|de temps en temps|occasionally|rien de (grave|bloquant)|nothing broken|not blocking|pas bloquant|pas critique|not critical|still works|fonctionne encore|encore optimale|sans probleme)\b/g,
  },
  {
    type: 'cosmetic',
    effect: 'urgency-',
    weight: 1,
    pattern:
      /\b(cosmetique|cosmetic|petit (bug|souci|detail)|small (thing|issue|bug)|minor|tiny|juste (une|un petit) (question|detail)|just (wondering|asking|curious|fyi)|fyi|suggestion|amelioration|would be nice|ce serait (bien|top|sympa)|logo|police|font|typo|typos|coquille|faute d orthographe|faute de frappe|mal aligne\w*|misalign\w*|moche|ugly|image cassee|broken image|libelle|tooltip\w*|couleur|colou?r|pixel\w*|rayure|scratch)\b/g,
  },
  { type: 'vip', effect: 'urgency+', weight: 1, pattern: /\b(directeur|directrice|dg|pdg|ceo|cfo|cto|coo|president|vip|direction generale|comite de direction|codir|comex|board)\b/g },
  {
    type: 'calm',
    effect: 'urgency-',
    weight: 2,
    pattern:
      /\b(pas urgent|pas presse|rien d urgent|sans urgence|quand vous (pouvez|aurez|avez)|quand tu (peux|auras)|a l occasion|des que possible mais|no rush|not urgent|no hurry|when(ever)? you (can|have (a moment|time)|get a chance)|low priority|la semaine prochaine|le mois prochain|next (week|month)|at your convenience|pas bloquant|not blocking|non bloquant)\b/g,
  },
  {
    type: 'request',
    effect: 'urgency-',
    weight: 1,
    pattern:
      /\b(serait il possible|est il possible|est ce possible|pourriez vous|pourrais je|je souhaiterais|je voudrais|j aimerais|merci de (bien vouloir|me)|demande d|petite question|question|could you|would it be possible|is it possible|i would like|i d like|can i get|how do i|how can i|request(ing)?|nouvel arrivant|new (hire|joiner|starter)|onboarding|demande de (creation|mise en place|changement|renouvellement|planification)|pouvez.vous|pourriez.vous|can you|can we|could we|please (add|create|remove|rename|install|send|share|prepare|drop|collect|delete|decommission|disable|enable|set up|plan)|merci de (creer|ajouter|supprimer|desactiver|installer|prevoir|planifier|prolonger|renouveler|remplacer|augmenter|changer|modifier|activer)|besoin d (un|une)|need an? (new|replacement|spare)|planifier|plan(ned)? (for|a)|prevu en|next quarter|trimestre|what is|what s|where (can|do)|how (do|can|long|often)|comment (on|faire|puis)|quel(le)?s? (est|sont)|is there|y a.t.il|est.ce qu)\b/g,
  },
];

/** Signals found in a text, each with the words it matched. */
export function findSignals(text: string, folded: string = fold(text)): Signal[] {
  const signals: Signal[] = [];
  for (const rule of rules) {
    rule.pattern.lastIndex = 0;
    for (const match of folded.matchAll(rule.pattern)) signals.push({ type: rule.type, match: match[0], effect: rule.effect, weight: rule.weight });
  }
  // Positive words right after a negator were counted as a negation above: drop their positive twin.
  const negated = new Set(signals.filter((s) => s.type === 'negation').map((s) => s.match.split(/\s+/).at(-1)!));
  const kept = signals.filter((s) => !(s.effect === 'positive' && negated.has(s.match)));
  const letters = text.match(/\p{L}/gu) ?? [];
  const upper = text.match(/\p{Lu}/gu) ?? [];
  const shouted = text.match(/\b\p{Lu}{5,}\b/gu) ?? [];
  if ((letters.length >= 12 && upper.length / letters.length > 0.6) || shouted.length >= 2) kept.push({ type: 'caps', match: shouted.slice(0, 3).join(' ') || text.slice(0, 24), effect: 'negative', weight: 1.5 });
  const bangs = text.match(/!{2,}|\?!|!\?/g) ?? [];
  if (bangs.length) kept.push({ type: 'exclamation', match: bangs.join(' '), effect: 'negative', weight: 1 });
  return kept;
}

export const scoreOf = (signals: Signal[], effect: Signal['effect']): number => signals.filter((s) => s.effect === effect).reduce((sum, s) => sum + s.weight, 0);
