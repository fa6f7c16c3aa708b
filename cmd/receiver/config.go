package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"imageshare/internal/appdir"
)

// stationConfig is what a site sets once for its receiving stations, in
// receiver.toml: the issuer of its own patient IDs above all, so that a
// local ID is never filed under the sending hospital's issuer.
type stationConfig struct {
	// Issuer is the Issuer of Patient ID (0010,0021) of this hospital's
	// patient IDs, the default of --issuer.
	Issuer string `toml:"issuer"`
	// ToDICOMweb is the local PACS's DICOMweb root, the default of
	// --to-dicomweb.
	ToDICOMweb string `toml:"to_dicomweb"`
	// DICOMwebCredentials is the default of --dicomweb-credentials.
	DICOMwebCredentials string `toml:"dicomweb_credentials"`
}

// configFileName is the station's configuration in the user's
// configuration folder (package appdir): $XDG_CONFIG_HOME/imageshare or
// ~/.config/imageshare on Linux, %LOCALAPPDATA%\imageshare on Windows,
// ~/Library/Application Support/imageshare on macOS.
const configFileName = "receiver.toml"

// defaultConfigPath is where the configuration is read from without
// --config, or "" if the system names no configuration folder.
func defaultConfigPath() string {
	dir, err := appdir.Config(appdir.User)
	if err != nil {
		return ""
	}
	return filepath.Join(dir, configFileName)
}

// loadConfig reads the station's configuration: from path if given (it
// must exist), else from the default place if a file is there. Unknown
// keys are refused, naming the key and the file, as a misspelt "isuer"
// would otherwise leave local IDs without their issuer.
func loadConfig(path string) (stationConfig, string, error) {
	var c stationConfig
	explicit := path != ""
	if !explicit {
		path = defaultConfigPath()
		if path == "" {
			return c, "", nil
		}
	}
	md, err := toml.DecodeFile(path, &c)
	switch {
	case !explicit && errors.Is(err, fs.ErrNotExist):
		return stationConfig{}, "", nil
	case err != nil:
		return c, path, &usageError{fmt.Sprintf("the configuration %s: %v", path, err)}
	}
	if extra := md.Undecoded(); len(extra) > 0 {
		keys := make([]string, len(extra))
		for i, k := range extra {
			keys[i] = k.String()
		}
		return c, path, &usageError{fmt.Sprintf("the configuration %s: unknown key %s (known: issuer, to_dicomweb, dicomweb_credentials)", path, strings.Join(keys, ", "))}
	}
	return c, path, nil
}

// applyConfig gives the options the flags did not set the station's
// configured values.
func applyConfig(fl *flag.FlagSet, o *fetchOptions) error {
	c, path, err := loadConfig(o.configFile)
	if err != nil {
		return err
	}
	o.configUsed = path
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["issuer"] && o.pacs.issuer == "" {
		o.pacs.issuer = strings.TrimSpace(c.Issuer)
		o.pacs.issuerFromConfig = o.pacs.issuer != ""
	}
	if !set["to-dicomweb"] && o.pacs.url == "" {
		o.pacs.url = strings.TrimSpace(c.ToDICOMweb)
	}
	if !set["dicomweb-credentials"] && o.pacs.credentialsFile == "" {
		o.pacs.credentialsFile = strings.TrimSpace(c.DICOMwebCredentials)
	}
	return nil
}
