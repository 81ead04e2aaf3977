// Writes src/agents/triage/data/generated.jsonl: labelled tickets built from hand-written
// templates with combinatorial variety (see src/agents/triage/data/README.md). Deterministic
// (seeded), so `node scripts/triage-corpus.mjs` reproduces the committed file byte for byte.
// The templates were written apart from the evaluation sets: nobody tuning them reads eval/.
import { writeFileSync } from 'node:fs';

const seed = 20261206;
const count = Number(process.argv[2] ?? 4200);

/** mulberry32: a tiny seeded generator, so the corpus is reproducible. */
function prng(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(seed);
const pick = (list) => list[Math.floor(random() * list.length)];
const chance = (p) => random() < p;

// Slots filled per ticket. Each entry: [French, English].
const slots = {
  app: [["l'ERP", 'the ERP'], ['le CRM', 'the CRM'], ["l'intranet", 'the intranet'], ['le portail RH', 'the HR portal'], ["l'outil de réservation des salles", 'the room booking tool'], ['la boutique en ligne', 'the online shop'], ["l'appli mobile", 'the mobile app'], ["l'outil de notes de frais", 'the expense tool'], ['le logiciel de caisse', 'the POS software'], ['Salesforce', 'Salesforce'], ['SAP', 'SAP'], ['Odoo', 'Odoo'], ['Jira', 'Jira'], ['Confluence', 'Confluence'], ['le site e-commerce', 'the e-commerce site'], ['le portail client', 'the customer portal'], ["l'application de planning", 'the scheduling app'], ['le logiciel de paie', 'the payroll software'], ["l'extranet fournisseurs", 'the supplier extranet'], ['Power BI', 'Power BI'], ['le site vitrine', 'the public website'], ["l'API de commande", 'the ordering API']],
  srv: [['srv-app-01', 'srv-app-01'], ['web-03', 'web-03'], ['vm-compta-02', 'vm-compta-02'], ['k8s-node-4', 'k8s-node-4'], ['batch01', 'batch01'], ['le serveur de build', 'the build server'], ['la VM de recette', 'the staging VM'], ['le serveur Citrix', 'the Citrix server'], ['le contrôleur de domaine', 'the domain controller'], ['lx-prod-07', 'lx-prod-07'], ["l'hyperviseur ESX2", 'hypervisor ESX2'], ['le nœud worker-3', 'worker node 3']],
  db: [['la base PostgreSQL', 'the PostgreSQL database'], ['la base clients', 'the customer database'], ['MySQL', 'MySQL'], ['la base Oracle de la compta', 'the accounting Oracle DB'], ['SQL Server', 'SQL Server'], ['la base des commandes', 'the orders DB'], ['MongoDB', 'MongoDB'], ['le cluster Redis', 'the Redis cluster'], ['la base de reporting', 'the reporting database'], ['la BDD du site', "the site's DB"]],
  share: [['le partage Compta', 'the Finance share'], ['le lecteur S:', 'the S: drive'], ['le NAS', 'the NAS'], ['mon OneDrive', 'my OneDrive'], ['le SharePoint du projet', 'the project SharePoint'], ['le dossier partagé Marketing', 'the Marketing shared folder'], ['le serveur de fichiers', 'the file server'], ['le lecteur réseau P:', 'the P: network drive']],
  device: [['mon portable', 'my laptop'], ["l'imprimante du 2e", 'the 2nd floor printer'], ['mon écran', 'my monitor'], ['ma station d’accueil', 'my docking station'], ['le scanner de l’accueil', 'the front desk scanner'], ['mon téléphone pro', 'my work phone'], ['mon clavier', 'my keyboard'], ['ma souris', 'my mouse'], ['le vidéoprojecteur de la salle B', 'the projector in room B'], ['le copieur', 'the copier'], ['mon casque', 'my headset'], ['la douchette', 'the barcode scanner']],
  site: [['Lyon', 'Lyon'], ['Nantes', 'Nantes'], ['Lille', 'Lille'], ['Bordeaux', 'Bordeaux'], ['Marseille', 'Marseille'], ['Rennes', 'Rennes'], ['Toulouse', 'Toulouse']],
  host: [['db-prod-01', 'db-prod-01'], ['pg-main', 'pg-main'], ['mysql-02', 'mysql-02'], ['fs-01', 'fs-01'], ['nas-02', 'nas-02'], ['app-04', 'app-04'], ['fw-edge-1', 'fw-edge-1'], ['mail-gw', 'mail-gw']],
};

// Problems per category: [severity, French, English]. Severity: down (nothing works),
// degraded (works badly), request (a demand or question), incident (security, under way).
const problems = {
  application: [
    ['down', '{app} ne charge plus, page blanche', '{app} no longer loads, just a blank page'],
    ['down', '{app} renvoie une erreur 500 à la connexion', '{app} returns a 500 error at login'],
    ['down', "{app} plante dès qu'on ouvre un dossier", '{app} crashes as soon as we open a record'],
    ['down', '{app} affiche « service indisponible »', '{app} shows "service unavailable"'],
    ['down', 'impossible de valider une commande sur {app}, le bouton ne fait rien', "can't submit an order in {app}, the button does nothing"],
    ['degraded', '{app} est très lent, chaque page met 30 secondes', '{app} is painfully slow, every page takes 30 seconds'],
    ['degraded', "l'export PDF de {app} sort des pages vides", '{app} PDF export produces empty pages'],
    ['degraded', 'depuis la dernière mise à jour, {app} perd les filtres enregistrés', 'since the last update {app} forgets saved filters'],
    ['degraded', '{app} me déconnecte toutes les cinq minutes', '{app} logs me out every five minutes'],
    ['degraded', 'les montants dans {app} sont arrondis de travers sur les factures', '{app} rounds amounts wrongly on invoices'],
    ['request', 'serait-il possible d’ajouter un champ « centre de coût » dans {app} ?', 'could you add a "cost centre" field to {app}?'],
    ['request', 'le libellé du bouton « Envoyer » dans {app} a une faute de frappe', 'the "Submit" button label in {app} has a typo'],
    ['request', "j'aimerais un export Excel des tickets depuis {app}", "I'd like an Excel export of tickets from {app}"],
    ['request', 'petite question : comment on change la langue de {app} ?', 'quick question: how do I switch {app} to French?'],
  ],
  server: [
    ['down', '{srv} ne répond plus au ping ni en SSH', "{srv} doesn't answer ping or SSH any more"],
    ['down', 'le service nginx ne démarre plus sur {srv} après le reboot', 'nginx no longer starts on {srv} after the reboot'],
    ['down', 'les pods de {srv} sont en CrashLoopBackOff', 'pods on {srv} are in CrashLoopBackOff'],
    ['down', '{srv} est figé, la console VMware ne répond plus', '{srv} is frozen, the VMware console is unresponsive'],
    ['down', 'le conteneur de l’API redémarre en boucle (OOMKilled) sur {srv}', 'the API container on {srv} keeps restarting (OOMKilled)'],
    ['degraded', 'le CPU de {srv} est à 100 % depuis ce matin', 'CPU on {srv} has been pegged at 100% since this morning'],
    ['degraded', 'la mémoire de {srv} est saturée, le swap grimpe', '{srv} is out of memory and swapping hard'],
    ['degraded', 'le cron de nuit sur {srv} ne s’est pas exécuté', 'the nightly cron job on {srv} did not run'],
    ['degraded', 'le load average de {srv} monte à 40 par moments', 'load average on {srv} spikes to 40 at times'],
    ['request', 'pourriez-vous créer une VM Linux 4 vCPU / 16 Go pour le projet data ?', 'could you create a Linux VM with 4 vCPU / 16 GB for the data project?'],
    ['request', 'merci de planifier les patchs kernel de {srv} à la prochaine fenêtre de maintenance', 'please schedule kernel patching of {srv} in the next maintenance window'],
    ['request', 'on peut décommissionner {srv} ? plus personne ne l’utilise', 'can we decommission {srv}? nobody uses it any more'],
  ],
  network: [
    ['down', 'le VPN ne se connecte plus, « passerelle injoignable »', 'the VPN no longer connects, "gateway unreachable"'],
    ['down', "plus d'internet sur le site de {site}", 'no internet at the {site} site'],
    ['down', 'le Wi-Fi est coupé dans tout le bâtiment B', 'Wi-Fi is down across building B'],
    ['down', 'la résolution DNS des noms internes échoue', 'internal DNS names no longer resolve'],
    ['down', 'le lien fibre de {site} est tombé', 'the fibre link at {site} is down'],
    ['degraded', 'le Wi-Fi décroche toutes les dix minutes en salle de réunion', 'Wi-Fi drops every ten minutes in the meeting rooms'],
    ['degraded', 'la latence vers le datacenter est à 400 ms, les visios saccadent', 'latency to the datacenter is 400 ms and calls stutter'],
    ['degraded', 'le proxy bloque certains sites de nos fournisseurs', 'the proxy blocks some of our suppliers’ sites'],
    ['degraded', 'le débit internet de {site} est divisé par dix', 'internet bandwidth at {site} dropped tenfold'],
    ['request', 'merci d’ouvrir le flux 443 du pare-feu vers le nouveau partenaire', 'please open port 443 on the firewall to the new partner'],
    ['request', 'pouvez-vous ajouter une prise réseau dans le bureau 214 ?', 'could you add a network port in office 214?'],
    ['request', 'on aurait besoin d’un SSID invité pour le salon de la semaine prochaine', 'we need a guest SSID for next week’s trade show'],
  ],
  database: [
    ['down', '{db} refuse les connexions : « too many clients already »', '{db} refuses connections: "too many clients already"'],
    ['down', '{db} est passée en lecture seule, le disque WAL est plein', '{db} went read-only, the WAL disk is full'],
    ['down', 'la réplication de {db} est cassée et le primaire ne répond plus', '{db} replication broke and the primary is not responding'],
    ['down', 'deadlocks en série sur {db}, toutes les transactions échouent', 'deadlocks everywhere on {db}, every transaction fails'],
    ['degraded', 'les requêtes sur {db} prennent 40 secondes depuis le dernier déploiement', 'queries on {db} take 40 seconds since the last deploy'],
    ['degraded', 'le réplica de {db} a deux heures de retard', 'the {db} replica lags two hours behind'],
    ['degraded', 'le pool de connexions de {db} sature aux heures de pointe', 'the {db} connection pool saturates at peak hours'],
    ['degraded', 'le dump nocturne de {db} a échoué', 'the nightly dump of {db} failed'],
    ['degraded', 'un index semble manquer sur {db}, full scan sur la table commandes', '{db} seems to miss an index, full scans on the orders table'],
    ['request', 'pouvez-vous créer un utilisateur en lecture seule sur {db} pour la BI ?', 'could you create a read-only user on {db} for BI?'],
    ['request', 'merci de planifier la montée de version de {db} au prochain trimestre', 'please plan the {db} version upgrade for next quarter'],
    ['request', 'question : quelle est la rétention des sauvegardes de {db} ?', 'question: what is the backup retention of {db}?'],
  ],
  security: [
    ['incident', "j'ai cliqué sur un lien d'hameçonnage et saisi mon mot de passe", 'I clicked a phishing link and typed my password'],
    ['incident', "l'antivirus signale un ransomware sur mon poste, des fichiers sont renommés en .locked", 'the antivirus flags ransomware on my PC, files are being renamed .locked'],
    ['incident', 'des connexions suspectes depuis l’étranger sur le compte de la directrice financière', 'suspicious logins from abroad on the CFO’s account'],
    ['incident', 'notre site a été défiguré, la page d’accueil affiche un message de pirates', 'our website has been defaced, the home page shows a hacker message'],
    ['incident', 'un fichier clients semble avoir fuité sur un forum', 'a customer file seems to have leaked on a forum'],
    ['incident', 'mon compte envoie des mails frauduleux à tous mes contacts', 'my account is sending fraudulent emails to all my contacts'],
    ['degraded', 'le certificat TLS du portail expire dans cinq jours', 'the portal TLS certificate expires in five days'],
    ['degraded', 'une CVE critique touche le firmware de nos pare-feux', 'a critical CVE affects our firewall firmware'],
    ['degraded', "j'ai reçu un mail suspect qui imite la banque, je n'ai rien cliqué", "I got a suspicious email imitating the bank, I didn't click anything"],
    ['request', 'question sur la politique de mots de passe : faut-il vraiment les changer tous les 90 jours ?', 'question about the password policy: must we really change them every 90 days?'],
    ['request', 'pouvez-vous planifier un test d’intrusion sur la nouvelle appli ?', 'could you schedule a penetration test of the new app?'],
    ['request', 'je signale un spam classique, pour info', 'reporting a plain spam message, FYI'],
  ],
  access: [
    ['down', 'mon compte est verrouillé, je ne peux plus me connecter à Windows', "my account is locked, I can't log into Windows"],
    ['down', "le SSO renvoie « utilisateur non autorisé » pour l'équipe juridique", 'SSO answers "user not authorised" for the legal team'],
    ['down', 'les codes MFA ne arrivent plus sur mon nouveau téléphone', 'MFA codes no longer reach my new phone'],
    ['down', 'mot de passe expiré et la réinitialisation échoue', 'password expired and the reset fails'],
    ['degraded', "je n'ai pas les droits d'écriture sur {share}", "I don't have write permission on {share}"],
    ['degraded', 'mes droits ont disparu après le changement de groupe AD', 'my permissions vanished after the AD group change'],
    ['request', 'merci de créer le compte AD et les accès de notre nouvel arrivant lundi', 'please create the AD account and access for our new joiner on Monday'],
    ['request', 'pouvez-vous me donner accès en lecture à {share} ?', 'could you give me read access to {share}?'],
    ['request', 'merci de désactiver les comptes des stagiaires partis vendredi', 'please disable the accounts of the interns who left on Friday'],
    ['request', "j'ai besoin d'un accès au tableau Jira de l'équipe data", 'I need access to the data team Jira board'],
  ],
  hardware: [
    ['down', "{device} ne s'allume plus du tout", "{device} won't power on at all"],
    ['down', "l'écran de {device} reste noir", '{device} screen stays black'],
    ['down', '{device} fait un bruit de clic et Windows signale une erreur SMART', '{device} makes clicking noises and Windows reports a SMART error'],
    ['down', 'les terminaux de paiement ne fonctionnent plus après la coupure de courant', 'the card terminals stopped working after the power cut'],
    ['degraded', "l'imprimante bourre à chaque page", 'the printer jams on every page'],
    ['degraded', 'la batterie de {device} ne tient plus que 20 minutes', '{device} battery lasts only 20 minutes now'],
    ['degraded', "quelques touches de {device} ne répondent plus", 'some keys on {device} stopped responding'],
    ['degraded', "{device} scintille quand je branche le dock", '{device} flickers when I plug in the dock'],
    ['request', "pourrais-je avoir un second écran et un casque ?", 'could I get a second monitor and a headset?'],
    ['request', 'il faudrait remplacer {device}, il a six ans', '{device} needs replacing, it is six years old'],
    ['request', 'demande de toner pour le copieur du 3e', 'toner request for the 3rd floor copier'],
  ],
  email: [
    ['down', 'je ne reçois plus aucun mail externe', "I don't receive any external email any more"],
    ['down', 'la boîte partagée support@ ne reçoit plus rien', 'the support@ shared mailbox stopped receiving mail'],
    ['down', 'Outlook ne se connecte plus au serveur Exchange', 'Outlook no longer connects to Exchange'],
    ['down', 'mes mails reviennent tous en erreur « 550 rejected »', 'all my emails bounce with "550 rejected"'],
    ['degraded', 'mes mails arrivent dans les spams chez nos clients', 'my emails land in customers’ spam folders'],
    ['degraded', 'ma boîte mail est pleine, je ne peux plus envoyer', 'my mailbox is full and I can no longer send'],
    ['degraded', "les invitations de l'agenda n'apparaissent plus dans le calendrier de mon manager", "calendar invites no longer show in my manager's calendar"],
    ['degraded', 'Outlook redemande le mot de passe toutes les dix minutes', 'Outlook asks for my password every ten minutes'],
    ['degraded', "l'antispam met en quarantaine les factures d'un fournisseur", 'the spam filter quarantines a supplier’s invoices'],
    ['request', 'pouvez-vous créer une liste de diffusion pour le comité RSE ?', 'could you create a mailing list for the CSR committee?'],
    ['request', 'merci de mettre en place une redirection de la boîte de Paul vers Marie', "please forward Paul's mailbox to Marie"],
    ['request', 'comment ajouter la signature commune dans Outlook ?', 'how do I add the shared signature in Outlook?'],
  ],
  storage: [
    ['down', '{share} est plein, plus personne ne peut enregistrer', "{share} is full, nobody can save anything"],
    ['down', 'le volume /data de {host} est à 100 %', 'the /data volume on {host} is at 100%'],
    ['down', '{share} est passé en lecture seule', '{share} went read-only'],
    ['down', 'un dossier entier a disparu de {share}', 'a whole folder vanished from {share}'],
    ['degraded', 'la sauvegarde Veeam de cette nuit a échoué', "last night's Veeam backup failed"],
    ['degraded', 'le disque de {host} se remplit de 1 % par heure', 'the disk on {host} fills up 1% an hour'],
    ['degraded', "j'ai écrasé un fichier sur {share}, possible de restaurer la version d'hier ?", "I overwrote a file on {share}, can you restore yesterday's version?"],
    ['degraded', 'la rétention des snapshots est passée à deux jours au lieu de quatorze', 'snapshot retention dropped to two days instead of fourteen'],
    ['request', 'pouvez-vous augmenter mon quota OneDrive ?', 'could you raise my OneDrive quota?'],
    ['request', 'demande de création d’un espace partagé de 500 Go pour le projet', 'request for a 500 GB shared space for the project'],
    ['request', 'combien de temps garde-t-on les sauvegardes des partages ?', 'how long do we keep backups of the shares?'],
  ],
  other: [
    ['degraded', 'la machine à café du 2e est encore en panne', 'the 2nd floor coffee machine is broken again'],
    ['degraded', 'la climatisation de la salle de réunion ne marche plus', 'the meeting room air conditioning stopped working'],
    ['degraded', 'le badge parking ne fonctionne plus pour notre étage', 'the parking badge no longer works for our floor'],
    ['request', 'où trouver le guide d’accueil des nouveaux prestataires ?', 'where can I find the onboarding guide for contractors?'],
    ['request', 'quel est le budget prévu pour les licences l’an prochain ?', 'what is next year’s budget for licences?'],
    ['request', 'existe-t-il une charte sur l’usage des téléphones perso ?', 'is there a policy on using personal phones for work?'],
    ['request', 'qui s’occupe du déménagement des bureaux au bâtiment C ?', 'who handles the office move to building C?'],
    ['request', 'peut-on organiser une formation Excel pour l’équipe ?', 'can we organise an Excel training for the team?'],
    ['request', 'la télécommande de l’écran de la salle B a disparu', 'the remote for the room B screen has gone missing'],
    ['request', 'demande de devis pour des chaises ergonomiques', 'quote request for ergonomic chairs'],
  ],
};

// What raises or lowers the priority, as a human reads it. Each entry: [French, English].
const scope = {
  urgent: [
    ['tout le service est bloqué', 'the whole department is blocked'],
    ['plus personne ne peut travailler', 'nobody can work'],
    ['les clients ne peuvent plus commander, on perd des ventes', "customers can't order, we're losing sales"],
    ['la production est à l’arrêt', 'production is at a standstill'],
    ['{n} personnes sont bloquées', '{n} people are blocked'],
    ['tous les magasins sont impactés', 'every store is affected'],
    ['c’est la prod, tous les clients sont touchés', "it's production and all customers are hit"],
    ['tous les utilisateurs du siège sont concernés', 'all users at head office are affected'],
  ],
  high: [
    ["j'ai une démo client à 14h", 'I have a client demo at 2pm'],
    ['la directrice en a besoin avant ce soir', 'the director needs it before tonight'],
    ['toute l’équipe compta (6 personnes) est bloquée', 'the whole accounting team (6 people) is stuck'],
    ['la clôture mensuelle est demain matin', 'month-end close is tomorrow morning'],
    ['le comité de direction commence dans une heure', 'the board meeting starts in an hour'],
    ['on a une livraison client aujourd’hui', 'we have a client delivery today'],
    ["l'équipe commerciale ne peut plus avancer", 'the sales team is stuck'],
  ],
  medium: [
    ['seulement sur mon poste, je contourne en attendant', 'only on my machine, I have a workaround for now'],
    ['ça marche après deux ou trois essais', 'it works after a couple of retries'],
    ['c’est lent mais on peut travailler', "it's slow but we can work"],
    ['je passe par le webmail en attendant', "I'm using the web version meanwhile"],
    ['ça arrive par intermittence', 'it happens intermittently'],
    ['', ''],
  ],
  low: [
    ['pas urgent', 'not urgent'],
    ['quand vous aurez un moment', 'whenever you have a moment'],
    ['la semaine prochaine ira très bien', 'next week is fine'],
    ['aucune urgence', 'no rush'],
    ['rien de bloquant', 'nothing blocking'],
    ['', ''],
  ],
};

const tones = {
  negative: [
    ["C'est la troisième fois cette semaine.", 'Third time this week.'],
    ['Franchement, ça devient pénible.', 'Honestly, this is getting ridiculous.'],
    ['Inadmissible.', 'Unacceptable.'],
    ['Toujours aucune réponse à mon dernier ticket.', 'Still no answer to my last ticket.'],
    ["J'en ai vraiment marre.", "I'm really fed up."],
    ['Super, encore une fois… quelle surprise 🙃', 'Oh great, again… what a surprise 🙃'],
    ['Bravo, vraiment, belle mise à jour.', 'Wonderful update, well done everyone. Not.'],
    ['Ça commence à bien faire !!', 'This is getting old!!'],
    ['Je perds un temps fou avec ça.', "I'm wasting hours on this."],
    ['Sérieusement ?', 'Seriously?'],
  ],
  positive: [
    ['Merci encore pour votre aide la semaine dernière !', 'Thanks again for your help last week!'],
    ['Bravo pour la migration de lundi, tout le reste marche nickel.', 'Great job on Monday’s migration, everything else works perfectly.'],
    ['Merci beaucoup pour votre réactivité habituelle 🙂', 'Many thanks for being so responsive as always 🙂'],
    ['Le nouveau portail est top, merci !', 'Love the new portal, thanks!'],
  ],
  neutral: [
    ['Merci d’avance.', 'Thanks in advance.'],
    ['Cordialement.', 'Regards.'],
    ['', ''],
    ['', ''],
  ],
};

// A sentence about another category, to distract a keyword matcher.
const distractors = {
  network: ['Le réseau fonctionne, j’ai vérifié.', 'The network is fine, I checked.'],
  access: ['Mon mot de passe est bon.', 'My password is fine.'],
  hardware: ["Ce n'est pas un souci de PC, j'ai testé sur un autre poste.", "It's not my laptop, I tried another one."],
  email: ['Je vous transmets par mail les captures.', "I'll email you the screenshots."],
  database: ["Rien à voir avec la base de données d'après les devs.", "The devs say it's not the database."],
  security: ['Pas de souci de sécurité a priori.', 'No security concern as far as I know.'],
  storage: ["Il reste de la place sur le disque.", 'There is plenty of disk space left.'],
  application: ["L'appli elle-même marche.", 'The app itself works.'],
  server: ['Les serveurs sont au vert dans la supervision.', 'Servers are green in monitoring.'],
  other: ['Rien à voir avec la machine à café, promis.', 'Nothing to do with the coffee machine, promise.'],
};

const names = ['Julie Martin', 'Karim Benali', 'Sophie Lefèvre', 'Thomas Nguyen', 'Claire Dubois', 'Marc Rousseau', 'Emma Wilson', 'David Cohen', 'Laura Schmidt', 'Hugo Moreau', 'Inès Garcia', 'Peter Jones'];
const titles = [['Assistante de direction', 'Executive assistant'], ['Chef de projet', 'Project manager'], ['Comptable', 'Accountant'], ['Responsable logistique', 'Logistics manager'], ['Commercial', 'Sales rep'], ['Développeur', 'Developer']];
const footers = [['Pensez à l’environnement avant d’imprimer ce mail.', 'Please consider the environment before printing this email.'], ['Envoyé de mon iPhone', 'Sent from my iPhone'], ['Ce message et ses pièces jointes sont confidentiels.', 'This message and its attachments are confidential.'], ['', '']];
const monitors = ['alertmanager@monitoring.local', 'zabbix@supervision.corp', 'nagios@ops.example', 'datadog-noreply@alerts.example'];
const alertNames = { server: ['HostDown', 'HighCpuLoad', 'ContainerRestarting', 'NodeNotReady'], database: ['PostgresReplicationLag', 'TooManyConnections', 'MySQLDown', 'SlowQueries'], storage: ['DiskAlmostFull', 'BackupFailed', 'VolumeReadOnly'], network: ['LinkDown', 'VPNTunnelDown', 'HighLatency', 'DNSFailures'], security: ['SuspiciousLogin', 'MalwareDetected', 'CertificateExpiring'] };

const fill = (text, lang) =>
  text
    .replace(/\{(\w+)\}/g, (_, slot) => (slot === 'n' ? String(pick([12, 25, 40, 80, 150, 300])) : pick(slots[slot])[lang === 'fr' ? 0 : 1]))
    .replace(/\b(de|que|le|la) ([aeiouhéèAEIOU])/g, (m, w, v) => (w === 'le' || w === 'la' ? m : `${w === 'de' ? 'd' : 'qu'}'${v}`));
const capital = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);
const sentence = (s) => (s && !/[.!?…]$/.test(s) ? `${s}.` : s);

/** Chat style: lower case, no accents, short forms and a typo or two. */
function chatty(text, lang) {
  let t = text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const forms = lang === 'fr' ? [[/s'il vous plait/g, 'svp'], [/probleme/g, 'pb'], [/\bje ne\b/g, 'j'], [/ ne /g, ' '], [/\bbeaucoup\b/g, 'bcp'], [/\bpourquoi\b/g, 'pk']] : [[/\bplease\b/g, 'pls'], [/\byou\b/g, 'u'], [/\bthanks\b/g, 'thx'], [/\bbecause\b/g, 'cuz'], [/\bare\b/g, 'r']];
  for (const [from, to] of forms) t = t.replace(from, to);
  t = t.replace(/\b(\w{5,})\b/g, (w) => (chance(0.08) ? w.slice(0, 2) + w[3] + w[2] + w.slice(4) : w));
  return t.replace(/[.]+(\s|$)/g, chance(0.5) ? ' $1' : '$1').replace(/\s+/g, ' ').trim();
}

function ticket() {
  const category = pick(Object.keys(problems));
  const [severity, fr, en] = pick(problems[category]);
  const lang = chance(0.55) ? 'fr' : 'en';
  const other = lang === 'fr' ? 'en' : 'fr';
  const mixed = chance(0.12);
  let priority;
  if (severity === 'incident') priority = pick(['urgent', 'urgent', 'high']);
  else if (severity === 'down') priority = pick(['urgent', 'high', 'high', 'medium']);
  else if (severity === 'degraded') priority = pick(['high', 'medium', 'medium', 'low']);
  else priority = chance(0.12) ? 'medium' : 'low';
  if (category === 'other' && priority === 'urgent') priority = 'high';
  const sentiment = pick(['negative', 'negative', 'neutral', 'neutral', 'neutral', 'positive']);
  const urgency = priority === 'urgent' || priority === 'high' ? 'high' : priority;
  const L = (pair) => pair[lang === 'fr' ? 0 : 1];
  const problem = fill(lang === 'fr' ? fr : en, lang);
  // The scope sentence says why it matters; in a mixed ticket it comes in the other language.
  let reach = '';
  if (severity === 'incident' && priority === 'urgent') reach = L(pick([['c’est en cours, que dois-je faire ?', "it's happening right now, what do I do?"], ['le poste est encore sur le réseau !', 'the machine is still on the network!'], ['plusieurs collègues ont reçu le même lien', 'several colleagues got the same link']]));
  else if (severity === 'incident') reach = L(pick([["j'ai peur d'avoir fait une bêtise", "I'm worried I messed up"], ['je ne sais pas quoi faire', "I don't know what to do"]]));
  else if (severity !== 'request' || priority !== 'low') reach = fill(pick(scope[priority])[mixed ? (other === 'fr' ? 0 : 1) : lang === 'fr' ? 0 : 1], mixed ? other : lang);
  else if (chance(0.5)) reach = L(pick(scope.low));
  const tone = L(pick(tones[sentiment]));
  const parts = [];
  if (sentiment === 'positive' && chance(0.6)) parts.push(tone);
  parts.push(sentence(capital(problem)));
  if (reach) parts.push(sentence(capital(reach)));
  if (chance(0.15)) {
    const d = pick(Object.keys(distractors).filter((c) => c !== category));
    parts.push(L(distractors[d]));
  }
  if (sentiment !== 'positive' || !parts.includes(tone)) if (tone) parts.push(tone);
  if (mixed && chance(0.5)) parts.push(lang === 'fr' ? pick(['ASAP please', 'Thanks!', 'FYI']) : pick(['Merci !', 'svp', 'Bonne journée']));
  let body = parts.join(' ');
  const form = random();
  if (form < 0.22) {
    const [greet, close] = lang === 'fr' ? [pick(['Bonjour,', 'Bonjour à tous,', 'Salut l’équipe,']), pick(['Cordialement,', 'Bien à vous,', 'Merci,'])] : [pick(['Hi team,', 'Hello,', 'Dear IT,']), pick(['Best regards,', 'Thanks,', 'Kind regards,'])];
    const footer = L(pick(footers));
    body = `${greet}\n\n${body}\n\n${close}\n${pick(names)}\n${L(pick(titles))} | Acme ${pick(['SAS', 'Ltd', 'Group'])}\nTél. +33 1 ${Math.floor(10 + random() * 89)} ${Math.floor(10 + random() * 89)} ${Math.floor(10 + random() * 89)} ${Math.floor(10 + random() * 89)}${footer ? `\n${footer}` : ''}`;
  } else if (form < 0.32 && alertNames[category] && severity !== 'request') {
    const header = lang === 'fr' ? '---------- Message transféré ---------' : '---------- Forwarded message ---------';
    body = `${header}\nFrom: ${pick(monitors)}\nSubject: [FIRING:1] ${pick(alertNames[category])} ${L(pick(slots.host))}\n\n${body}`;
  } else if (form < 0.52) {
    body = chatty(body, lang);
  }
  return { text: body, lang, category, priority, sentiment, urgency, source: 'generated' };
}

const seen = new Set();
const out = [];
while (out.length < count) {
  const t = ticket();
  if (seen.has(t.text)) continue;
  seen.add(t.text);
  out.push(JSON.stringify(t));
}
writeFileSync(new URL('../src/agents/triage/data/generated.jsonl', import.meta.url), `${out.join('\n')}\n`);
console.log(`wrote ${out.length} tickets to src/agents/triage/data/generated.jsonl`);
