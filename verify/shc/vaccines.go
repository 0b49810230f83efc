package shc

// The code systems SMART Health Cards name vaccines in.
const (
	SystemCVX    = "http://hl7.org/fhir/sid/cvx"
	SystemSNOMED = "http://snomed.info/sct"
)

// Vaccine is what a vaccine code stands for, for display.
type Vaccine struct {
	// Name is a short name a reader recognises (brand and formulation).
	Name string
	// Manufacturer is the maker; empty for a class of vaccines.
	Manufacturer string
	// Disease is the disease it protects against.
	Disease string
}

// LookupVaccine names the vaccine a code of a card's vaccineCode stands
// for. It knows the COVID-19 and mpox codes SMART Health Cards use:
//
//   - CVX (system http://hl7.org/fhir/sid/cvx): the COVID-19 codes of the
//     SMART Health Cards terminology value set immunization-covid-cvx
//     (version 2023.1, CC0; https://terminology.smarthealth.cards), whose
//     codes and descriptions come from the CDC's CVX table
//     (https://www2.cdc.gov/vaccines/iis/iisstandards/vaccines.asp?rpt=cvx),
//     plus CDC's unspecified codes 213 and 500 and the orthopoxvirus codes
//     75 and 206.
//   - SNOMED CT (system http://snomed.info/sct): the vaccine-type codes of
//     the EU Digital COVID Certificate value set sct-vaccines-covid-19
//     (2023-01-25), and the English-named product codes of the SMART
//     Health Cards value set immunization-covid-snomed (version 2023.1;
//     SNOMED CT concepts under CC BY 4.0 from SNOMED International and the
//     Canadian, UK and New Zealand editions).
//
// Names are condensed from those sources' descriptions. Unknown codes
// report false; show the code then.
func LookupVaccine(system, code string) (Vaccine, bool) {
	var v Vaccine
	var ok bool
	switch system {
	case SystemCVX:
		v, ok = cvx[code]
	case SystemSNOMED:
		v, ok = snomed[code]
	}
	return v, ok
}

const covid = "COVID-19"

var cvx = map[string]Vaccine{
	"207": {"Moderna COVID-19 vaccine (Spikevax), 100 mcg or 50 mcg dose", "Moderna", covid},
	"208": {"Pfizer-BioNTech COVID-19 vaccine (Comirnaty), 30 mcg", "Pfizer-BioNTech", covid},
	"210": {"AstraZeneca COVID-19 vaccine (Vaxzevria)", "AstraZeneca", covid},
	"211": {"Novavax COVID-19 vaccine (Nuvaxovid)", "Novavax", covid},
	"212": {"Janssen COVID-19 vaccine", "Janssen", covid},
	"213": {"COVID-19 vaccine, product unspecified", "", covid},
	"217": {"Pfizer-BioNTech COVID-19 vaccine (Comirnaty), 30 mcg, tris-sucrose", "Pfizer-BioNTech", covid},
	"218": {"Pfizer-BioNTech COVID-19 vaccine, 10 mcg child dose, tris-sucrose", "Pfizer-BioNTech", covid},
	"219": {"Pfizer-BioNTech COVID-19 vaccine, 3 mcg child dose, tris-sucrose", "Pfizer-BioNTech", covid},
	"221": {"Moderna COVID-19 vaccine (Spikevax), 50 mcg", "Moderna", covid},
	"225": {"Sanofi-GSK COVID-19 vaccine, 5 mcg, adjuvanted", "Sanofi Pasteur", covid},
	"226": {"Sanofi-GSK COVID-19 vaccine, 10 mcg, adjuvanted", "Sanofi Pasteur", covid},
	"227": {"Moderna COVID-19 vaccine, 50 mcg child dose", "Moderna", covid},
	"228": {"Moderna COVID-19 vaccine, 25 mcg child dose", "Moderna", covid},
	"229": {"Moderna COVID-19 vaccine, bivalent, 50 mcg or 25 mcg", "Moderna", covid},
	"230": {"Moderna COVID-19 vaccine, bivalent, 10 mcg", "Moderna", covid},
	"300": {"Pfizer-BioNTech COVID-19 vaccine, bivalent, 30 mcg", "Pfizer-BioNTech", covid},
	"301": {"Pfizer-BioNTech COVID-19 vaccine, bivalent, 10 mcg", "Pfizer-BioNTech", covid},
	"302": {"Pfizer-BioNTech COVID-19 vaccine, bivalent, 3 mcg", "Pfizer-BioNTech", covid},
	"308": {"Pfizer-BioNTech COVID-19 vaccine, 3 mcg, tris-sucrose", "Pfizer-BioNTech", covid},
	"309": {"Pfizer-BioNTech COVID-19 vaccine (Comirnaty), 30 mcg, tris-sucrose", "Pfizer-BioNTech", covid},
	"310": {"Pfizer-BioNTech COVID-19 vaccine, 10 mcg, tris-sucrose", "Pfizer-BioNTech", covid},
	"311": {"Moderna COVID-19 vaccine, 25 mcg", "Moderna", covid},
	"312": {"Moderna COVID-19 vaccine (Spikevax), 50 mcg", "Moderna", covid},
	"313": {"Novavax COVID-19 vaccine, adjuvanted, 5 mcg", "Novavax", covid},
	"500": {"COVID-19 vaccine given outside the US, product unknown", "", covid},
	"501": {"QazCovid-in (inactivated)", "Research Institute for Biological Safety Problems", covid},
	"502": {"Covaxin (inactivated)", "Bharat Biotech", covid},
	"503": {"CoviVac (inactivated)", "Chumakov Center", covid},
	"504": {"Sputnik Light (viral vector)", "Gamaleya Research Institute", covid},
	"505": {"Sputnik V (viral vector)", "Gamaleya Research Institute", covid},
	"506": {"Convidecia (viral vector)", "CanSino Biologics", covid},
	"507": {"Anhui Zhifei Longcom COVID-19 vaccine (protein subunit)", "Anhui Zhifei Longcom Biopharmaceutical", covid},
	"508": {"Jiangsu CDC COVID-19 vaccine (protein subunit)", "Jiangsu Province Centers for Disease Control and Prevention", covid},
	"509": {"EpiVacCorona (peptide)", "Vector Institute", covid},
	"510": {"Sinopharm BIBP COVID-19 vaccine (inactivated)", "Sinopharm (Beijing Institute of Biological Products)", covid},
	"511": {"CoronaVac (inactivated)", "Sinovac", covid},
	"512": {"Covifenz (virus-like particle)", "Medicago", covid},
	"513": {"Zifivax (protein subunit)", "Anhui Zhifei Longcom Biopharmaceutical", covid},
	"514": {"ZyCoV-D (DNA)", "Zydus Cadila", covid},
	"515": {"MVC-COV1901 (protein subunit)", "Medigen", covid},
	"516": {"KCONVAC (inactivated)", "Minhai Biotechnology", covid},
	"517": {"Corbevax (protein subunit)", "Biological E", covid},
	"518": {"VLA2001 (inactivated)", "Valneva", covid},
	"519": {"Moderna COVID-19 vaccine (Spikevax Bivalent, original/Omicron BA.1)", "Moderna", covid},
	"520": {"Pfizer-BioNTech COVID-19 vaccine (Comirnaty Bivalent, original/Omicron BA.1)", "Pfizer-BioNTech", covid},
	"521": {"VidPrevtyn Beta (protein, adjuvanted)", "Sanofi-GSK", covid},

	"75":  {"Smallpox vaccine (vaccinia, ACAM2000)", "", "smallpox and mpox"},
	"206": {"Smallpox and mpox vaccine (JYNNEOS), live, non-replicating", "Bavarian Nordic", "smallpox and mpox"},
}

var snomed = map[string]Vaccine{
	// Vaccine types (EU DCC value set sct-vaccines-covid-19).
	"1119305005":     {"SARS-CoV-2 antigen vaccine", "", covid},
	"1119349007":     {"SARS-CoV-2 mRNA vaccine", "", covid},
	"1162643001":     {"SARS-CoV-2 recombinant spike protein antigen vaccine", "", covid},
	"1157024006":     {"Inactivated whole SARS-CoV-2 antigen vaccine", "", covid},
	"1187593009":     {"SARS-CoV-2 DNA plasmid vaccine", "", covid},
	"28531000087107": {"COVID-19 vaccine", "", covid},
	"29061000087103": {"COVID-19 non-replicating viral vector vaccine", "", covid},
	"30141000087107": {"SARS-CoV-2 virus-like particle antigen vaccine", "", covid},

	// Products (SMART Health Cards value set immunization-covid-snomed).
	"28571000087109":  {"Spikevax (mRNA), 0.20 mg/mL", "Moderna", covid},
	"35651000087105":  {"Spikevax (mRNA), 0.10 mg/mL", "Moderna", covid},
	"37311000087109":  {"Spikevax Bivalent (original/Omicron BA.1)", "Moderna", covid},
	"37651000087101":  {"Spikevax Bivalent (original/Omicron BA.4/BA.5)", "Moderna", covid},
	"28581000087106":  {"Comirnaty (mRNA), 30 mcg", "Pfizer-BioNTech", covid},
	"33881000087102":  {"Comirnaty (mRNA), 30 mcg, tris-sucrose", "Pfizer-BioNTech", covid},
	"33361000087101":  {"Comirnaty (mRNA), 10 mcg child dose", "Pfizer-BioNTech", covid},
	"34611000087105":  {"Comirnaty (mRNA), 3 mcg child dose", "Pfizer-BioNTech", covid},
	"28761000087108":  {"Vaxzevria (viral vector)", "AstraZeneca", covid},
	"28961000087105":  {"Covishield (viral vector)", "Serum Institute of India", covid},
	"28951000087107":  {"Janssen COVID-19 vaccine (viral vector)", "Janssen", covid},
	"29171000087106":  {"Nuvaxovid (protein subunit)", "Novavax", covid},
	"34921000087108":  {"Covovax (protein subunit)", "Serum Institute of India", covid},
	"30151000087105":  {"Covifenz (virus-like particle)", "Medicago", covid},
	"31301000087101":  {"Sinopharm BIBP COVID-19 vaccine (inactivated)", "Sinopharm", covid},
	"33201000087108":  {"Sinopharm WIBP COVID-19 vaccine (inactivated)", "Sinopharm", covid},
	"31311000087104":  {"CoronaVac (inactivated)", "Sinovac", covid},
	"31341000087103":  {"Sputnik V (viral vector)", "Gamaleya Research Institute", covid},
	"33461000087106":  {"Sputnik Light (viral vector)", "Gamaleya Research Institute", covid},
	"31431000087100":  {"Convidecia (viral vector)", "CanSino Biologics", covid},
	"33211000087105":  {"Covaxin (inactivated)", "Bharat Biotech", covid},
	"33221000087102":  {"CureVac COVID-19 vaccine (mRNA)", "CureVac", covid},
	"33391000087109":  {"Abdala (protein subunit)", "CIGB", covid},
	"33401000087107":  {"COVIran Barekat (inactivated)", "Shifa Pharmed", covid},
	"33411000087109":  {"CoviVac (inactivated)", "Chumakov Center", covid},
	"33421000087101":  {"EpiVacCorona (peptide)", "Vector Institute", covid},
	"33431000087104":  {"KCONVAC (inactivated)", "Minhai Biotechnology", covid},
	"33441000087105":  {"MVC-COV1901 (protein subunit)", "Medigen", covid},
	"33451000087108":  {"QazCovid-in (inactivated)", "Research Institute for Biological Safety Problems", covid},
	"33471000087102":  {"Zifivax (protein subunit)", "Anhui Zhifei Longcom Biopharmaceutical", covid},
	"34591000087100":  {"Soberana 02 (conjugate)", "Finlay Institute", covid},
	"34601000087108":  {"SpikoGen (protein subunit)", "Vaxine / CinnaGen", covid},
	"33581000087104":  {"COVID-19 mRNA vaccine, child dose, product unspecified", "", covid},
	"1401000220108":   {"AstraZeneca COVID-19 vaccine (viral vector)", "AstraZeneca", covid},
	"1411000220106":   {"Pfizer-BioNTech COVID-19 mRNA vaccine, 30 mcg", "Pfizer-BioNTech", covid},
	"1421000220104":   {"Moderna COVID-19 mRNA vaccine, 100 mcg", "Moderna", covid},
	"125071000220108": {"Pfizer-BioNTech COVID-19 mRNA vaccine, 10 mcg", "Pfizer-BioNTech", covid},
	"125081000220106": {"Pfizer-BioNTech COVID-19 mRNA vaccine, 30 mcg, ready to use", "Pfizer-BioNTech", covid},
	"125091000220109": {"Pfizer-BioNTech COVID-19 mRNA vaccine, adapted BA.1", "Pfizer-BioNTech", covid},
	"125101000220104": {"Pfizer-BioNTech COVID-19 mRNA vaccine, adapted BA.4/BA.5", "Pfizer-BioNTech", covid},
	"125111000220101": {"Moderna COVID-19 mRNA vaccine, adapted BA.1", "Moderna", covid},
	"125121000220108": {"Moderna COVID-19 mRNA vaccine, adapted BA.4/BA.5", "Moderna", covid},
	"62051000220105":  {"Janssen COVID-19 vaccine (viral vector)", "Janssen", covid},
	"1031000172108":   {"Pfizer-BioNTech COVID-19 mRNA vaccine (BNT162b2)", "Pfizer-BioNTech", covid},
	"10871000172106":  {"Moderna COVID-19 mRNA vaccine (mRNA-1273)", "Moderna", covid},
	"10891000172107":  {"AstraZeneca COVID-19 vaccine (ChAdOx1-S)", "AstraZeneca", covid},
	"10901000172106":  {"Janssen COVID-19 vaccine (Ad26.COV2-S)", "Janssen", covid},
}
