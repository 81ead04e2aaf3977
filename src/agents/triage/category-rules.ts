import type { Category } from './taxonomy.js';

/**
 * Evidence for each category straight from the taxonomy's wording, in French and English,
 * on folded text (lower case, no accents, apostrophes as spaces). Each cue has a weight:
 * strong cues name the category outright ("imprimante", "phishing", "mot de passe",
 * "disque plein"), weak ones only hint at it ("serveur", "appli", "page"). Precedence the
 * taxonomy implies is written as heavier cues: an incident word (phishing, malware,
 * exfiltration, injection...) outweighs the product it hits, a leaked password is security
 * while an expired one is access, a backup or restore is storage even on a VM or a database,
 * a full disk is storage. The naive Bayes model learns the rest from the corpus; the rule
 * score adds a bounded push and names its words among the reasons.
 */
export interface Cue {
  weight: number;
  pattern: RegExp;
}

const cue = (weight: number, pattern: RegExp): Cue => ({ weight, pattern });

export const categoryRules: Record<Category, Cue[]> = {
  security: [
    cue(
      6,
      /\b(phishing|hameconnage|spoof\w*|usurp\w*|se faisant passer|se fait passer|imitant|pretending to be|claiming to be|impersonat\w*|malware|logiciels? malveillants?|ransomware|rancongiciel|rancon|ransom|virus|infect\w*|trojan|cheval de troie|keylogger|spyware|intrusion|intrus|piratage|pirate[es]?|hack(ed|er|ers|ing)?|compromis\w*|compromised|exfiltr\w*|data (breach|leak)|fuite de donnees|leak(ed|s)?|fuite|brute.?force|credential stuffing|password spray\w*|injections? sql|sql injection|xss|cross.site|defaced|defacement|defigur\w*|ddos|kerberoast\w*|impossible travel|scan (de ports|de vulnerabilites)|port scan\w*|vulnerability scan\w*|cve|zero.?day|vulnerabilit\w*|faille|frauduleu\w*|fraud\w*|arnaque|scam\w*|vole|volee|voles|stolen|theft)\b/g,
    ),
    cue(5, /\b(certificat\w*|certificate\w*|cert)\b[^.!?]{0,40}\b(expir\w*|perime|renouvel\w*|renew\w*|invalide?)\b|\b(ssl|tls|hsts)\b/g),
    cue(4, /\b(connexions? (inhabituelle|suspecte|bloquee)s?|tentatives? de connexion|unusual (sign.?in|login|activity)|unknown (ip|device|location)|ip inconnue|logged in from|connecte depuis|pop.?ups?|post.?it)\b/g),
    cue(
      3,
      /\b(suspicious|suspect\w*|louche|bizarre (mail|email|lien)|fake|faux (mail|lien|site|message)|fausse (facture|page)|antivirus|anti.?virus|edr|defender|crowdstrike|sentinel|threat|menace|quarantaine|quarantine|attaque\w*|attack\w*|exploit(s|ed|e)?|certificat\w*|certificate\w*|ssl|tls|hsts|https|pentest|test d intrusion|audit de securite|security (audit|incident|alert|team)|incident de securite|securite|security|sensibilisation|awareness|perdu mon (telephone|portable|pc|badge)|lost my (phone|laptop)|coffre|vault|paste|pastebin|darknet|dark web|siem|soc|waf|dmarc|dkim|spf|s mime|smime|usb (trouvee|found|stick)|cle usb (trouvee|inconnue))\b/g,
    ),
    // A password or credential that leaked, was exposed, committed or phished is an incident, not an account request.
    cue(4, /\b(mots? de passe|passwords?|identifiants|credentials?|secrets?|tokens?|api keys?|access keys?|keys|cles? d api)\b[^.!?]{0,40}\b(leak\w*|fuite|expos\w*|committed|commite\w*|publi\w*|divulgu\w*|vol(e|es|ee|ees)|stolen|pastebin|paste|github|gitlab|repo\w*|pushed|public|en clair|in clear|plain ?text)\b/g),
    cue(3, /\b(donne|saisi|entered|typed|gave)\b[^.!?]{0,30}\b(identifiants|credentials|mot de passe|password)\b/g),
  ],
  access: [
    cue(5, /\b(droits?|acces|access|permissions?)\b[^.!?]{0,40}\b(dossiers?|partages?|shares?|sharepoint|folders?|drives?|espaces?|repos?|workspaces?|portail|portal|groupes?|groups?|schemas?|sites?|channels?|canal)\b|\b(acces refuse|access denied|permission denied|non autorises?|not authori[sz]ed|unauthori[sz]ed)\b|\b(ajout\w*|add\w*|retir\w*|remove\w*)\b[^.!?]{0,40}\b(groupes?|groups?)\b/g),
    cue(
      3,
      /\b(mots? de passe|passwords?|mdp|reinitialis\w*|reset|mfa|2fa|a2f|double authentification|authentification (a deux facteurs|forte|multi)|two.factor|multi.factor|authenticator|otp|code (de verification|mfa|sms)|sso|okta|single sign.on|saml|oauth|habilitation\w*|droits? (d acces|de lecture|d ecriture|admin\w*|d approbation|de validation|de modification)|access rights|admin rights|permissions?|autorisations? (d acces)?|sudo|privileges?|acces en (lecture|ecriture)|read(.only)? access|write access|(read|write|edit) permission\w*|comptes? (bloque|verrouille|desactive|expire|suspendu|ad|utilisateur|windows)\w*|account (locked|disabled|expired|suspended|creation)|locked out|lockout|verrouill\w*|active directory|azure ad|entra( id)?|ldap|acces conditionnel|conditional access|groupe (ad|de securite)|security group|ad group|ajouter? (au|dans le) groupe|add(ed)? (me |him |her |them )?to the (group|team)|creer? (un|son|ses|les) comptes?|creation (de|du|des) comptes?|create (an? |the )?(ad |new )?accounts?|new accounts?|no accounts?|desactiv\w* (son|ses|le|les) comptes?|disable (his|her|their|the) accounts?|offboarding|depart de|leaver|login (is|now)|identifiant de connexion)\b/g,
    ),
    cue(2, /\b(droits?|acces|access|compte|account|accounts|comptes|login|log ?in|logon|se connecter|connecter|sign ?in|ouverture de session|session windows|onboarding|nouvel arrivant|new (hire|joiner|starter)s?|invite|invitation to|role|roles|redonner|re.?enable)\b/g),
    cue(3, /\bmot de passe\b[^.!?]{0,30}\b(expir\w*|oubli\w*|change\w*|chang\w*|bloque|incorrect|refuse)\b|\bpassword\b[^.!?]{0,30}\b(expired|forgot\w*|forgotten|change|reset)\b|\b(oublie|forgot) (mon|my) (mot de passe|password)\b/g),
  ],
  hardware: [
    cue(
      4,
      /\b(imprimantes?|printers?|toner|cartouches?|bourrage|paper jam|photocopieu\w*|copieur|traceur|plotter|douchettes?|barcode|code.barres?|lecteur de (carte|badge|code)|card reader|scanners? (de|des|a main|code|barcode)|barcode scanners?|ecrans?|moniteurs?|monitors?|screens?|claviers?|keyboards?|souris|mouse|mice|laptops?|pc portable|ordinateur\w*|desktops?|docks?|docking|station d accueil|casques?|headsets?|webcams?|micro.?casque|haut.parleur|speakerphone|jabra|batterie|battery|chargeurs?|chargers?|adaptateur|adapter|dongle|hdmi|displayport|usb.?c|lightning|iphone|ipad|tablettes?|tablet|smartphones?|telephone (pro|fixe|portable)|phones?|projecteur|videoprojecteur|projector|ventilateur|fan|surchauffe|overheat\w*|ecran bleu|bsod|pixel mort|dead pixel|touches?|keys? (stuck|missing)|disque dur|hard drive|ssd|carte (wi.?fi|reseau|graphique|mere)|wi.?fi card|motherboard|ram defectueuse|smart (error|erreur)|ne s allume plus|won t (turn on|boot|charge|power)|doesn t (turn on|charge|power)|ne charge plus|tpe|terminal de paiement)\b/g,
    ),
    cue(2, /\b(portable|pc|poste de travail|workstation|materiel|hardware|peripherique|device|cable|telephone|scanner|tv|television|ecran tactile|device manager|gestionnaire de peripheriques|casse|cassee|broken|fissur\w*|rayure|cracked)\b/g),
  ],
  email: [
    cue(
      4,
      /\b(e.?mails?|mails?|courriels?|outlook|boites? (mail|aux lettres|partagee|de reception)|mailbox\w*|messagerie|exchange|smtp|imap|pop3?|webmail|gmail|rebond\w*|bounce\w*|ndr|non remis|non delivre|undeliverable|delivery (failure|failed)|spam\w*|indesirables?|courrier indesirable|junk|calendriers?|calendar\w*|agenda|listes? de diffusion|distribution lists?|mailing lists?|alias|shared mailbox|room mailbox|out of office|message d absence|reponse automatique|auto.?reply|delegation|delegated|signature (mail|email|outlook)|mx)\b/g,
    ),
    cue(2, /\b(pieces? jointes?|attachments?|invitations?|signature|recipients?|destinataires?|expediteur|sender|envoyes|sent items|boite de reception|inbox|transfert|forward\w*|newsletter|reunion|meeting invite|ost|pst|archive pst|domaine d envoi)\b/g),
  ],
  storage: [
    cue(6, /\b(sauvegardes?|backups?|restaur\w*|restor\w*|point de restauration|restore point|veeam|snapshots?|disques? (plein|sature|full)\w*|disk (is )?full|full disk|no space left|plus d espace|not enough space|espace insuffisant|(est|sont|is|are|almost|presque|quasi|completement) (plein|pleine|pleins|full)|quotas?|datastore)\b|(^|\s)\/(var|data|home|tmp|opt|srv|mnt|boot|lib)\b/g),
    cue(
      4,
      /\b(disques? (plein|sature|full)|disk (is )?full|full disk|no space left|plus d espace|espace (disque|insuffisant|de stockage)|disk space|out of (disk )?space|not enough space|quotas?|lecteurs? (reseau|partage|personnel|[a-z]:)|network drive|mapped drive|shared drives?|drive partage|dossiers? partages?|shared folders?|partages? (reseau|de fichiers|\w+)?|file shares?|serveur de fichiers|file server|nas|synology|netapp|san|datastore|stockage|storage|sauvegardes?|backups?|restaur\w*|restor\w*|veeam|snapshots?|onedrive|sharepoint|dropbox|box sync|google drive|s3|bucket|efs|blob|archivage|archives?|retention|versions? precedentes?|previous versions?|corbeille|recycle bin|inodes?|partition|volumes?|agregat|aggregate|lun|raid|fichiers? (supprime|efface|ecrase|perdu|disparu)\w*|(deleted|overwrote|overwritten|lost) (\w+ )?(files?|folders?)|ecrase|overwrote|synchronisation (onedrive|des fichiers)|sync client)\b/g,
    ),
    cue(2, /\b(fichiers?|files?|dossiers?|folders?|espace|space|plein|full|sature\w*|\d{2,3} ?%|\d+ ?(go|gb|to|tb)|lecture seule|shares?|read.only|sync\w*)\b/g),
  ],
  database: [
    cue(
      4,
      /\b(bases? de donnees|bdd|databases?|postgres\w*|pgbouncer|pg_\w+|psql|mysql|mariadb|oracle|ora.\d+|sql ?server|mssql|always on|mongo\w*|redis|elasticsearch|cassandra|requetes? (sql|lentes?)|slow quer\w*|slow query log|deadlocks?|replication|replica\w*|replicat\w*|standby|pool de connexions|connection pool|too many (connections|clients)|max_connections|tablespace|index(es|ation)?|full scan|vacuum|autovacuum|binlogs?|wal|query plan|plan d execution|dba|dump|sequences?|schemas?|erd|select|transactions?|rollback|read.only mode|mode read.only|listener)\b/g,
    ),
    cue(2, /\b(base|db|sql|requetes?|quer(y|ies)|(?<!(deploy|release|deployment) )locks?(?! (de|du) (deploiement|mise en prod\w*))|verrous?(?! (de|du) (deploiement|mise en prod\w*))|primaire|primary|master|failover|migration|tables?|colonne|column|rows?|lignes|stats|statistiques)\b/g),
  ],
  network: [
    cue(
      4,
      /\b((?<!(lecteur|dossier|partage|drive|disque) )reseau\w*|(?<!(shared) )network(?! drive| share)|vpn|wi.?fi|wlan|ssid|bornes? (wi.?fi)?|access points?|point d acces|dns|dhcp|proxy|zscaler|pare.?feu|firewall|fortinet|fortigate|palo alto|switch\w*|routeurs?|routers?|latence|latency|ping|packet loss|perte de paquets|bande passante|bandwidth|debit|internet|connectivit\w*|fibre|mpls|sd.?wan|wan|lan|vlan|ethernet|cable reseau|prise reseau|port reseau|network port|load.?balancer|f5|haproxy|adresses? ip|ip address\w*|\d{2,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|subnet|sous.reseau|nat|bgp|routage|routing|traceroute|filaire|wired|portail captif|captive portal|tunnel|split.tunnel\w*|isp|fai|operateur|4g|5g|whitelist\w*|liste blanche|\d+ ?ms|flux|ouverture de flux)\b/g,
    ),
    cue(2, /\b(connexion|connection|connexions|connections|deconnect\w*|disconnect\w*|timeout|time out|injoignable|unreachable|resolve|resolution|resou\w*|port|ip|domaine|domain|acces distant|remote access|teletravail|remote|site distant|agence)\b/g),
  ],
  server: [
    cue(
      4,
      /\b(vms?|machines? virtuelles?|virtual machines?|hyperviseur|hypervisor|esxi?|vmware|vcenter|proxmox|hyper.?v|conteneurs?|containers?|docker|pods?|kubernetes|k8s|namespace|crashloop\w*|oomkill\w*|out of memory|oom|exit code|cpu|vcpu|ram|memoire|memory|swap|jenkins|load average|load spikes?|nginx|apache|tomcat|iis|php.fpm|gunicorn|systemd|unite systemd|daemon|cron\w*|kernel|noyau|ssh|hostname|host|hote|unhealthy|health ?checks?|consul|citrix|rds|controleur de domaine|domain controller|cluster|nodes?|noeuds?|worker|linux|ubuntu|debian|centos|red ?hat|windows server|patch\w*|reboot\w*|uptime|steal)\b/g,
    ),
    cue(2, /\b(serveurs?|servers?|srv|charge|processus|process|services?|redemarr\w*|restart\w*|demarr\w*|start\w*|instance|prod|production|deploi\w*|deploy\w*|fige|froze|frozen|sature\w*)\b/g),
  ],
  application: [
    cue(
      3,
      /\b(verrous? (de|du) (deploiement|mise en prod\w*)|(deploy|release|deployment) locks?|pipelines?|ci.?cd|deploiements? (de l|du|des)|applications?|applis?|apps?|logiciels?|software|sites? (web|internet|marchand|vitrine)|website|web site|api|erreur (4|5)\d\d|error (4|5)\d\d|(4|5)0\d|bad gateway|service unavailable|bug\w*|crm|erp|sap|salesforce|jira|confluence|gitlab|github|slack|zoom|intranet|extranet|portail|portal|formulaires?|forms?|boutons?|buttons?|ecran blanc|blank page|plante|crash\w*|mise a jour|update|versions?|fonctionnalit\w*|features?|module|excel|word|powerpoint|office|power ?bi|tableau de bord|dashboard|export\w*|pdf|facture\w*|invoic\w*|paie|payroll|webhook|navigateur|browser|chrome|firefox|edge|extension|plugin|session expiree|json|ticketing|outil\w*|tools?|affich\w*|display\w*|champ|field|filtre|filter|tri|sort)\b/g,
    ),
    cue(1.5, /\b(site|page|pages|erreur|error|message|lent|slow|rame|charge|loading|ne marche pas|ne fonctionne pas|doesn t work|not working|broken|interface|ui|logo|menu)\b/g),
  ],
  other: [
    cue(
      4,
      /\b(mobilier|chaises?|chairs?|furniture|climatisation|clim|air conditioning|chauffage|heating|neons?|ampoules?|lumieres?|lights?|eclairage|badge|badges|parking|cafe|coffee|machine a cafe|cantine|cafeteria|kitchen|cuisine|whiteboard|tableau blanc|markers?|feutres?|stylos?|fournitures|supplies|menage|cleaning|demenag\w*|office move|moving|telecommande|remote control|formations?|trainings?|sessions? de formation|licen[cs]es?|inventaire|inventory|horaires|opening hours|e.learning|petit.dejeuner|breakfast|charte|policy|politique|procedure|budget|devis|quotes?|price list|tarifs?|achats?|purchase\w*|commandes? de materiel|recyclage|recycl\w*|services generaux|facilities|av|micros? de scene|stage mics|auditorium|stream\w*|evenement|event|sondage|survey|faq|documentation|doc|guide)\b/g,
    ),
    cue(2, /\b(question|questions|qui s occupe|who (is in charge|should i contact|handles)|conseil|advice|recommand\w*|recommend\w*|valide\w* par|approved by|merci pour|thanks for|bureau|desk|salle|room)\b/g),
  ],
};

export interface RuleEvidence {
  /** Sum of the weights of the distinct cues matched. */
  score: number;
  /** The words matched, strongest first. */
  words: string[];
}

/** How much each category's rules matched (weights of distinct words summed), with the words. */
export function ruleEvidence(folded: string): Map<Category, RuleEvidence> {
  const evidence = new Map<Category, RuleEvidence>();
  for (const [category, cues] of Object.entries(categoryRules) as Array<[Category, Cue[]]>) {
    const seen = new Set<string>();
    let score = 0;
    for (const { weight, pattern } of cues) {
      pattern.lastIndex = 0;
      for (const match of folded.matchAll(pattern)) {
        const word = match[0].trim();
        if (seen.has(word)) continue;
        seen.add(word);
        score += weight;
      }
    }
    if (seen.size) evidence.set(category, { score, words: [...seen] });
  }
  return evidence;
}
