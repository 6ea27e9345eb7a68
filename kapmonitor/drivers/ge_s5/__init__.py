"""GE Datex-Ohmeda S/5 Computer Interface driver (S/5, AS/3, CS/3, Cardiocap 5, B20-B125, CARESCAPE)."""
